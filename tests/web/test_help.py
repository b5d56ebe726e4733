"""The user guide in the portal (issue 15, item 6): a Help page per task for agents and operations, each
with its screenshot, written with labels the portal really shows, and linked ("?") from the page where
the task starts."""

import html
import re
from pathlib import Path

import pytest

from portal.blueprints.help.guide import AGENTS, OPERATIONS, TASKS
from tests.conftest import credit_refund, make_refund

PORTAL = Path(__file__).resolve().parents[2] / "portal"
UI_LABEL = re.compile(r'<strong class="ui">(.*?)</strong>')


def _portal_text() -> str:
    """Every template but the guide's, and every Python module: where the portal's labels live."""
    parts = [
        p.read_text(encoding="utf-8") for p in (PORTAL / "templates").rglob("*.html") if "help" not in p.parts
    ]
    parts += [p.read_text(encoding="utf-8") for p in PORTAL.rglob("*.py")]
    return html.unescape("\n".join(parts))


def test_the_index_lists_every_task_for_agents_and_for_operations(client, auth, world):
    auth.login(world.agent)
    page = client.get("/help/").get_data(as_text=True)
    assert "For agents" in page and "For operations" in page
    for task in TASKS:
        assert f'href="/help/{task.slug}"' in page
    assert {t.audience for t in TASKS} == {AGENTS, OPERATIONS}
    assert client.get("/help/no-such-task").status_code == 404


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.slug)
def test_each_page_has_its_screenshot_and_names_only_labels_the_portal_shows(client, auth, world, task):
    auth.login(world.agent)
    response = client.get(f"/help/{task.slug}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'src="/static/help/{task.slug}.png"' in page
    shot = PORTAL / "static" / "help" / f"{task.slug}.png"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "run scripts/guide_screenshots.py"
    labels = {html.unescape(label) for label in UI_LABEL.findall(page)}
    assert labels, "the page names the buttons and pages it is about"
    text = _portal_text().replace("{{ operator_name }}", "Atlas")
    missing = sorted(label for label in labels if label not in text)
    assert missing == [], f"labels the portal does not show: {missing}"


def _links(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_the_page_each_task_starts_on_links_its_help(client, auth, world, db):
    refund = make_refund(db, world.booking, world.agent, coupons=("P1.S1",))
    credit_refund(db, refund, world.ops)
    order = world.booking.order_number
    auth.login(world.agent)
    details = _links(client, f"/bookings/{order}")
    for slug in ("refund", "cancel-and-refund", "service-requests", "baggage"):
        assert f'href="/help/{slug}"' in details, slug
    assert 'href="/help/refund-claim"' in _links(client, f"/bookings/{order}/cancel-refund")
    assert 'href="/help/follow-up"' in _links(client, f"/bookings/{order}/refund-info")
    assert 'href="/help/service-requests"' in _links(client, "/requests/")
    assert 'href="/help/batch-refunds"' in _links(client, "/finance/refunds/agent")
    assert 'href="/help/statement"' in _links(client, "/finance/statement")
    assert 'href="/help/"' in details  # the header's Help
    auth.logout()
    auth.login(world.ops)
    for url, slug in (
        ("/operations/refunds", "refund-queue"),
        ("/operations/requests/", "request-queue"),
        ("/operations/baggage", "baggage-orders"),
        ("/operations/schedule-changes", "ops-schedule-changes"),
    ):
        assert f'href="/help/{slug}"' in _links(client, url), url
