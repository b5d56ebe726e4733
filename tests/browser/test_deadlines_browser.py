"""Deadlines as a user meets them: Follow up disabled before day 21, then enabled; the bell; the
overdue badge in the operations queue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal import jobs
from portal.domain.refunds import RefundPath
from portal.services.refunds import create_refund, parse_coupon_keys

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"
OPS = "ops@host.example"


def aged_refund(db, world, days=0, hours=0):
    refund = create_refund(
        world.booking,
        parse_coupon_keys(world.booking, ["P1.S1", "P1.S2"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    refund.created_at = refund.created_at - timedelta(days=days, hours=hours)
    db.session.commit()
    return refund


def test_follow_up_waits_for_day_21_then_opens_a_request(page, live_server, world, db, login):
    refund = aged_refund(db, world, days=20)
    login(page, AGENT)
    page.goto(f"{live_server}/bookings/AT10000001/refund-info")
    button = page.get_by_role("button", name="Follow up")
    expect(button).to_be_disabled()
    expect(page.get_by_text(re.compile(r"Available from \d{2} \w{3} \d{4}"))).to_be_visible()

    # The clock moves on: the refund is now 22 days old.
    refund.created_at = refund.created_at - timedelta(days=2)
    db.session.commit()
    page.reload()
    expect(page.get_by_text("Follow-up available")).to_be_visible()
    page.get_by_role("button", name="Follow up").click()
    page.wait_for_url(re.compile(r"/requests/SR\d{8}$"))
    expect(page.get_by_text(f"Follow-up on refund {refund.code}")).to_be_visible()
    expect(page.get_by_text("Follow-up sent on request")).to_be_visible()


def test_overdue_refund_is_red_in_the_queue_and_operations_are_told(page, live_server, world, db, login):
    refund = aged_refund(db, world, hours=5)
    jobs.run_job("overdue-refunds")
    login(page, OPS)
    expect(page.get_by_label("Notifications: 1 unread")).to_be_visible()
    page.get_by_role("link", name="Refund queue").click()
    row = page.locator(f"#refund-row-{refund.id}")
    expect(row).to_have_class(re.compile(r"\boverdue\b"))
    expect(row.get_by_text(re.compile(r"Overdue by 1 h"))).to_be_visible()
    page.get_by_label(re.compile(r"Notifications: \d+ unread")).click()  # the bell's dropdown
    page.locator("#bell-dropdown").get_by_role("link", name="All notifications").click()
    expect(page.get_by_text(re.compile(rf"Refund {refund.code} .* is overdue"))).to_be_visible()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.get_by_role("button", name="Mark all read")).to_have_count(0)
