"""Regenerate the user guide's screenshots (portal/static/help/<slug>.png) from the demo data.

    .venv/bin/python scripts/guide_screenshots.py        (or: make guide-screenshots)

Builds a throw-away database with `demo-data` (the same work in progress `make run` shows), serves the app
on a free port of 127.0.0.1, and walks each task of the guide (portal/blueprints/help/guide.py) in
headless Chromium as the demo agent or the demo operations user, clicking the visible labels the guide
names. Needs Playwright and a Chromium (PORTAL_CHROMIUM, default /usr/bin/chromium). Every task must get
its screenshot: tests/web/test_help.py checks that each one exists.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from portal import create_app  # noqa: E402
from portal.blueprints.help.guide import AGENTS, TASKS  # noqa: E402
from portal.cli import init_db  # noqa: E402
from portal.demo import load_demo_data  # noqa: E402
from portal.extensions import db  # noqa: E402
from portal.models import Account, BaggageOrder, Booking, Refund, ScheduleChange  # noqa: E402

OUT = ROOT / "portal" / "static" / "help"
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
VIEWPORT = {"width": 1366, "height": 860}


def demo_orders() -> dict[str, str]:
    """Order numbers of demo bookings that show each task: untouched ones to start a refund, a request or
    baggage on, the refund waiting for a follow-up, the booking with a schedule change."""
    demo = db.session.scalar(select(Account).where(Account.code == "DEMO"))
    busy = set(db.session.scalars(select(Refund.booking_id)))
    busy |= set(db.session.scalars(select(ScheduleChange.booking_id)))
    busy |= set(db.session.scalars(select(BaggageOrder.booking_id)))
    untouched = [
        b
        for b in db.session.scalars(
            select(Booking).where(Booking.account_id == demo.id).order_by(Booking.order_number)
        )
        if b.id not in busy and b.offers_refund and b.payment_channel == "deposit"
    ]
    full_service = next(b for b in untouched if not b.airline.is_lcc)
    low_cost = next((b for b in untouched if b.airline.is_lcc and b.airline.baggage_options), full_service)
    waiting = db.session.scalar(
        select(Refund)
        .where(Refund.account_id == demo.id, Refund.status == "submitted")
        .order_by(Refund.created_at)
    )
    changed = db.session.scalar(select(ScheduleChange).where(ScheduleChange.acknowledged_at.is_(None)))
    return {
        "refund": full_service.order_number,
        "baggage": low_cost.order_number,
        "follow_up": waiting.booking.order_number,
        "changed": changed.booking.order_number,
    }


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: not url.endswith("/login"), wait_until="load")


def open_slideout(page: Page, order: str, button: str, heading: str) -> None:
    page.goto(f"/bookings/{order}")
    page.locator("#booking-actions").get_by_role("link", name=button, exact=True).click()
    expect(page.locator("#slideout").get_by_role("heading", name=heading)).to_be_visible()


def shots(orders: dict[str, str]) -> dict[str, Callable[[Page], None]]:
    def cancel_refund(page: Page, claim: bool) -> None:
        page.goto(f"/bookings/{orders['refund']}/cancel-refund")
        page.locator("input[name=coupon]:not([disabled])").first.check()
        if claim:
            page.get_by_role("button", name="Refund Claim").click()
            heading = page.locator("#next-step").get_by_role("heading", name="3. Refund Claim")
            expect(heading).to_be_visible()
            page.evaluate("document.querySelector('#next-step').scrollIntoView()")

    return {
        "refund": lambda p: open_slideout(p, orders["refund"], "Refund", f"Refund {orders['refund']}"),
        "cancel-and-refund": lambda p: cancel_refund(p, claim=False),
        "refund-claim": lambda p: cancel_refund(p, claim=True),
        "service-requests": lambda p: open_slideout(
            p, orders["refund"], "Raise a Request", f"Raise a Request · {orders['refund']}"
        ),
        "batch-refunds": lambda p: p.goto("/finance/refunds/agent"),
        "follow-up": lambda p: p.goto(f"/bookings/{orders['follow_up']}/refund-info"),
        "statement": lambda p: p.goto("/finance/statement"),
        "baggage": lambda p: open_slideout(
            p, orders["baggage"], "Add Baggage", f"Add Baggage {orders['baggage']}"
        ),
        "schedule-changes": lambda p: p.goto(f"/bookings/{orders['changed']}"),
        "refund-queue": lambda p: p.goto("/operations/refunds"),
        "request-queue": lambda p: p.goto("/operations/requests/"),
        "baggage-orders": lambda p: p.goto("/operations/baggage"),
        "ops-schedule-changes": lambda p: p.goto("/operations/schedule-changes"),
    }


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/guide.db",
                "SECRET_KEY": secrets.token_hex(16),
                "UPLOAD_DIR": tmp,
                "ARGON2_PROFILE": "fast-for-tests",
                "REQUIRE_MFA_FOR_STAFF": False,
                "SMTP_HOST": "",
            },
            instance_path=tmp,
        )
        with app.app_context():
            init_db()
            logins = {}
            for email, role, password in load_demo_data():
                logins.setdefault(role, (email, password))  # the first of each role: DEMO's agent
            db.session.commit()
            orders = demo_orders()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{server.server_port}"
        walks = shots(orders)
        missing = [t.slug for t in TASKS if t.slug not in walks]
        if missing:
            raise SystemExit(f"No walk for: {', '.join(missing)}")
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
                )
                for role, audience in (("agent", True), ("operations", False)):
                    context = browser.new_context(base_url=base, viewport=VIEWPORT)
                    page = context.new_page()
                    log_in(page, *logins[role])
                    for task in TASKS:
                        if (task.audience == AGENTS) is not audience:
                            continue
                        walks[task.slug](page)
                        page.wait_for_load_state("load")
                        page.screenshot(path=str(OUT / f"{task.slug}.png"))
                        print(f"{task.slug}.png")
                    context.close()
                browser.close()
        finally:
            server.shutdown()
            with app.app_context():
                db.engine.dispose()


if __name__ == "__main__":
    main()
