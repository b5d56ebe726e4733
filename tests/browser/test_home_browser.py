"""Home and the bell as a user meets them in a browser: the tiles open their lists, the bell's dropdown
shows a refund's notices as one entry and marks it read in place, Escape closes it."""

from __future__ import annotations

import re

import pytest

from portal.services.notifications import notify

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"


def test_home_tiles_and_the_bell_dropdown(page, live_server, world, db, login):
    for step in ("Submitted to airline.", "Received from airline.", "Refunded."):
        notify(
            [world.agent],
            "refund_status",
            f"Refund RF00000001 for order AT10000001: {step}",
            "/bookings/AT10000001/refund-info",
            topic="refund:RF00000001",
        )
    db.session.commit()
    login(page, AGENT, to_bookings=False)
    expect(page).to_have_url(re.compile(r"/home$"))
    expect(page.get_by_role("heading", name="Waiting on you")).to_be_visible()
    expect(page.get_by_text("Nothing waits on you.")).to_be_visible()

    bell = page.get_by_label("Notifications: 1 unread")
    bell.click()
    dropdown = page.locator("#bell-dropdown")
    expect(dropdown.get_by_text("Refund RF00000001 for order AT10000001: Refunded.")).to_be_visible()
    expect(dropdown.get_by_text("2 earlier updates")).to_be_visible()
    dropdown.get_by_role("button", name="Mark read").click()
    expect(page.get_by_label("Notifications: 0 unread")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dropdown).to_be_hidden()
    expect(page.get_by_label("Notifications: 0 unread")).to_be_focused()

    page.get_by_role("link", name=re.compile("Rejected refunds")).click()
    expect(page).to_have_url(re.compile(r"/finance/refunds\?.*status=rejected"))
    expect(page.get_by_label("Status")).to_have_value("rejected")
