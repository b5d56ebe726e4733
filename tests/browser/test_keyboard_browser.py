"""Slide-outs are modal dialogs, and a keyboard alone does the day's work (issue 15, items 3 and 8): the
Refund slide-out from the Refund button to Refund Info, and the refund queue's actions from Mark submitted to
airline to Credit balance, and Reject. Every step here is a key press; the mouse is never used."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from portal.clock import utcnow

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"
OPS = "ops@host.example"
IN_SLIDEOUT = "() => document.getElementById('slideout').contains(document.activeElement)"


def is_focused(locator) -> bool:
    return locator.evaluate("el => el === document.activeElement")


def tab_to(page, target, key="Tab", limit=80):
    """Press Tab (or Shift+Tab) until `target` has the focus, as a keyboard user reaches it."""
    for _ in range(limit):
        if is_focused(target):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {target}")


def open_refund_slideout(page):
    page.goto("/bookings/AT10000001", wait_until="load")
    trigger = page.get_by_role("link", name="Refund", exact=True)
    tab_to(page, trigger)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Refund AT10000001")
    expect(dialog).to_be_visible()
    return trigger, dialog


# The slide-out is a modal dialog -------------------------------------------------------------------


def test_the_refund_slideout_is_a_modal_dialog_that_holds_and_returns_the_focus(page, world, login):
    login(page, AGENT)
    trigger, dialog = open_refund_slideout(page)

    # Modal, over a dimmed page, the full height of the window; the focus moved into it.
    expect(dialog).to_have_attribute("aria-modal", "true")
    assert dialog.evaluate("d => d.matches(':modal')")
    backdrop = dialog.evaluate("d => getComputedStyle(d, '::backdrop').backgroundColor")
    assert backdrop not in ("rgba(0, 0, 0, 0)", "transparent"), backdrop
    box, window = dialog.bounding_box(), page.viewport_size
    assert box["y"] == 0 and box["height"] == window["height"]
    expect(dialog.locator(":focus")).to_have_count(1)

    # Tab and Shift+Tab go round inside the dialog and never reach the page behind it.
    for key in ["Tab"] * 15 + ["Shift+Tab"] * 15:
        page.keyboard.press(key)
        assert page.evaluate(IN_SLIDEOUT), f"{key} left the slide-out"

    # Esc closes it and gives the focus back to the Refund button.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(trigger).to_be_focused()

    # So do the close button and Cancel.
    for close in ("Close", "Cancel"):
        page.keyboard.press("Enter")
        expect(dialog).to_be_visible()
        tab_to(page, dialog.get_by_role("link", name=close, exact=True))
        page.keyboard.press("Enter")
        expect(dialog).to_be_hidden()
        expect(trigger).to_be_focused()
    expect(page).to_have_url(re.compile(r"/bookings/AT10000001$"))


def test_the_24_hour_notice_is_read_inside_the_slideout(page, world, make, login):
    make.booking(order_number="SOON000001", departure=utcnow() + timedelta(hours=20))
    login(page, AGENT)
    page.goto("/bookings/SOON000001", wait_until="load")
    tab_to(page, page.get_by_role("link", name="Raise a Request", exact=True))
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name=re.compile("Raise a Request"))
    notice = dialog.get_by_role("alert")
    expect(notice).to_contain_text("Departs within 24 hours")
    expect(notice.get_by_role("link", name=re.compile("Manage My Booking"))).to_have_attribute(
        "href", "https://www.singaporeair.com/manage-booking"
    )


# Keyboard only: the Refund slide-out -----------------------------------------------------------------


def test_a_refund_by_keyboard_alone(page, world, login):
    login(page, AGENT)
    _, dialog = open_refund_slideout(page)
    passenger = dialog.get_by_label("TAN/WEI MING")
    confirm = dialog.get_by_role("button", name="Refund", exact=True)

    # Space unticks the passenger: the quote is asked again, and the focus stays on the box.
    tab_to(page, passenger)
    page.keyboard.press("Space")
    expect(dialog.get_by_text("Select at least one passenger to refund.")).to_be_visible()
    expect(confirm).to_be_disabled()
    expect(passenger).to_be_focused()
    page.keyboard.press("Space")
    expect(confirm).to_be_enabled()
    expect(passenger).to_be_focused()

    tab_to(page, confirm)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/bookings/AT10000001/refund-info$"))
    expect(page.get_by_text(re.compile(r"Refund RF\d{8} requested"))).to_be_visible()


# Keyboard only: the refund queue ---------------------------------------------------------------------


def test_the_refund_queue_actions_by_keyboard_alone(page, world, make, login):
    refund = make.refund(world.booking, world.agent)
    login(page, OPS)
    page.goto("/operations/refunds", wait_until="load")
    row = page.locator(f"#refund-row-{refund.id}")
    expect(row.get_by_text("Requested", exact=True)).to_be_visible()

    # Mark submitted to airline: type the reference, Enter submits; the row changes in place and keeps the
    # focus, so the next Tab presses lead on to the next action.
    tab_to(page, row.get_by_label("Airline reference"))
    page.keyboard.type("SQ-REF-1")
    page.keyboard.press("Enter")
    expect(row.get_by_text("Submitted to airline", exact=True)).to_be_visible()
    expect(row.locator(":focus")).to_have_count(1)  # the focus did not fall back to the top of the page

    # Record airline refund: amount, date, reference, Enter.
    tab_to(page, row.get_by_label(re.compile(r"^Amount")))
    page.keyboard.type("420.00")
    page.keyboard.press("Tab")
    expect(row.get_by_label("Airline refund date")).to_be_focused()
    page.keyboard.type(utcnow().strftime("%m%d%Y"))  # the browser's date field, month first in en-US
    tab_to(page, row.get_by_label("Airline reference"))
    page.keyboard.type("SQ-RFND-1")
    page.keyboard.press("Enter")
    expect(row.get_by_text("Airline refund received", exact=True)).to_be_visible()
    expect(row.locator(":focus")).to_have_count(1)

    # Credit balance: a button, pressed with Enter.
    tab_to(page, row.get_by_role("button", name="Credit balance"))
    page.keyboard.press("Enter")
    expect(row.get_by_text("Refunded", exact=True)).to_be_visible()
    expect(row.get_by_text("Done")).to_be_visible()


def test_rejecting_from_the_queue_by_keyboard_alone(page, world, make, login):
    refund = make.refund(world.booking, world.agent)
    login(page, OPS)
    page.goto("/operations/refunds", wait_until="load")
    row = page.locator(f"#refund-row-{refund.id}")

    # Reject is folded away: Enter on it opens the reason, Tab reaches it.
    tab_to(page, row.locator("summary", has_text="Reject"))
    page.keyboard.press("Enter")
    reason = row.get_by_label("Reason (the agency sees it)")
    expect(reason).to_be_visible()
    page.keyboard.press("Tab")
    expect(reason).to_be_focused()
    page.keyboard.type("The airline refused: ticket already used.")
    page.keyboard.press("Tab")
    expect(row.get_by_role("button", name="Reject")).to_be_focused()
    page.keyboard.press("Enter")
    expect(row.get_by_text("Rejected", exact=True)).to_be_visible()
