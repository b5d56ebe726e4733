"""Issue 13 in the browser: an LCC refund cancels what it refunds, and every part of the page an action
changes is updated in the same response (Accept change, an agency reply, choosing a category)."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_bookings_browser import open_booking, same_document
from tests.browser.test_changes_browser import _changed_booking
from tests.conftest import passenger_doc, raise_service_request

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"


def test_an_lcc_refund_of_everyone_shows_the_segments_and_the_booking_cancelled(page, world, make, login):
    make.booking(
        order_number="LC10000001",
        airline="TR",
        passengers=[
            passenger_doc("P1", "NAIR", "ARJUN", "668-2400000101"),
            passenger_doc("P2", "NAIR", "PRIYA", "668-2400000102"),
        ],
    )
    login(page, AGENT)
    row = page.get_by_role("row").filter(has_text="LC10000001")
    expect(row).to_contain_text("Ticketed")
    open_booking(page, "LC10000001")
    segments = page.get_by_role("table").filter(has_text="Departure (local)")
    expect(segments.get_by_text("Confirmed")).to_have_count(2)

    page.get_by_role("link", name="Refund", exact=True).click()
    slideout = page.get_by_role("dialog")
    expect(slideout.get_by_label(re.compile("NAIR/ARJUN MR"))).to_be_checked()
    expect(slideout.get_by_label(re.compile("NAIR/PRIYA MR"))).to_be_checked()
    slideout.get_by_role("button", name="Refund", exact=True).click()
    page.wait_for_url(re.compile(r"/bookings/LC10000001/refund-info$"))

    page.get_by_role("tab", name="Details").click()
    expect(segments.get_by_text("Cancelled")).to_have_count(2)
    expect(segments.get_by_text("Confirmed")).to_have_count(0)
    expect(page.locator(".facts")).to_contain_text("Cancelled")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My Bookings").click()
    expect(page.get_by_role("row").filter(has_text="LC10000001")).to_contain_text("Cancelled")


def test_accept_change_updates_the_schedule_change_table_too(page, world, make, login):
    _changed_booking(make)
    login(page, AGENT)
    open_booking(page, "SC10000001")
    table = page.get_by_role("table").filter(has_text="Answer")
    expect(table).to_contain_text("Action required")
    with same_document(page):
        page.get_by_role("button", name="Accept change").click()
        expect(page.get_by_text("Schedule change accepted")).to_be_visible()
        expect(table).to_contain_text("Accepted")
        expect(table).not_to_contain_text("Action required")


def test_an_agency_reply_to_a_processed_request_updates_the_header(page, world, db, login):
    from portal.services.requests import change_status

    req = raise_service_request(db, world.booking, world.agent, category="other", description="Seat?")
    change_status(req, "start", user=world.ops)
    change_status(req, "mark_processed", user=world.ops)
    db.session.commit()
    login(page, AGENT)
    page.goto(f"/requests/{req.number}", wait_until="load")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_contain_text("Processed")
    with same_document(page):
        page.get_by_label("Message").fill("One more question, please.")
        page.get_by_role("button", name="Send").click()
        expect(page.get_by_text("One more question, please.")).to_be_visible()
        expect(heading).to_contain_text("In process")
        expect(heading).not_to_contain_text("Processed")


@pytest.mark.parametrize("where", ["Raise a Request", "New Request"])
def test_choosing_a_category_clears_the_choose_a_category_error(page, world, login, where):
    login(page, AGENT)
    if where == "Raise a Request":
        page.goto("/bookings/AT10000001", wait_until="load")
        page.get_by_role("link", name="Raise a Request").click()
        form = page.get_by_role("dialog")
    else:
        page.goto("/requests/new?order_number=AT10000001", wait_until="load")
        form = page.locator("form").filter(has=page.get_by_role("button", name="Submit"))
    form.get_by_label("Describe the issue").fill("Please check the seat.")
    form.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Choose a category.")).to_be_visible()
    page.get_by_label("Category").select_option(label="Other")
    expect(page.get_by_text("Choose a category.")).to_have_count(0)
    expect(page.get_by_label("Category")).to_have_value(re.compile(r"\d+"))
    expect(page.get_by_label("Describe the issue")).to_have_value("Please check the seat.")
