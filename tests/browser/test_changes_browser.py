"""Post-booking changes in the browser, by what users see: Add Baggage, operations Confirm, the debit on
the statement; a re-imported schedule change, Action required, Accept change and the free refund."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_bookings_browser import open_booking, same_document
from tests.conftest import booking_doc, order_baggage, passenger_doc, rescheduled

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"
OPS = "ops@host.example"


def test_agent_adds_baggage_operations_confirm_and_the_debit_shows(page, new_context, world, login):
    login(page, AGENT)
    open_booking(page, "AT10000001")
    expect(page.get_by_text("Balance: SGD 0.00")).to_be_visible()

    with same_document(page):
        page.get_by_role("link", name="Add Baggage").click()
        panel = page.get_by_role("dialog", name="Add Baggage AT10000001")
        expect(panel).to_be_visible()
        panel.get_by_label("Passenger").select_option(label="TAN/WEI MING MR (Adult)")
        panel.get_by_label("Flight").select_option(index=2)  # the return flight, SQ979
        panel.get_by_label("Extra 10 kg").check()
        expect(panel.get_by_text("SGD 95.00")).to_be_visible()
    # Created: a full navigation back to Booking Details, the order shown with the ancillaries.
    panel.get_by_role("button", name="Add Baggage").click()
    expect(page.get_by_text(re.compile(r"Baggage BG\d{8} requested: Extra 10 kg"))).to_be_visible()
    orders = page.get_by_role("table", name="Baggage added after ticketing")
    expect(orders.get_by_role("row").filter(has_text="SQ979")).to_contain_text("Requested")
    code = re.search(r"BG\d{8}", orders.get_by_role("row").nth(1).inner_text()).group(0)

    # A second attempt for the same passenger and flight is refused with a clear message.
    with same_document(page):
        page.get_by_role("link", name="Add Baggage").click()
        panel = page.get_by_role("dialog", name="Add Baggage AT10000001")
        panel.get_by_label("Passenger").select_option(label="TAN/WEI MING MR (Adult)")
        panel.get_by_label("Flight").select_option(index=2)
        panel.get_by_label("Extra 10 kg").check()
        panel.get_by_role("button", name="Add Baggage").click()
        expect(panel.get_by_role("alert")).to_contain_text("was already ordered")
        panel.get_by_role("link", name="Cancel").click()
        expect(panel).to_have_count(0)

    ops = new_context().new_page()
    login(ops, OPS)
    ops.get_by_role("navigation", name="Main").get_by_role("link", name="Baggage orders").click()
    expect(ops.get_by_role("heading", name="Baggage orders", level=1)).to_be_visible()
    row = ops.get_by_role("row").filter(has_text=code)
    expect(row).to_contain_text("TAN/WEI MING MR")
    expect(row).to_contain_text("SGD 95.00")
    with same_document(ops):
        row.get_by_role("button", name="Confirm").click()
        expect(row).to_contain_text("Confirmed")
        expect(row).to_contain_text("Debited from the balance")
        expect(row.get_by_role("button", name="Confirm")).to_have_count(0)

    page.reload()
    expect(page.get_by_text("Balance: SGD -95.00")).to_be_visible()
    expect(orders.get_by_role("row").filter(has_text=code)).to_contain_text("Confirmed")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statement").click()
    expect(page.get_by_role("heading", name="Statement", level=1)).to_be_visible()
    debit = page.get_by_role("row").filter(has_text=f"Baggage {code} for order AT10000001")
    expect(debit).to_contain_text("-95.00")


def test_operations_fail_baggage_with_a_reason_and_the_agent_sees_it(page, new_context, world, make, login):
    from tests.conftest import order_baggage

    order = order_baggage(make.db, world.booking, world.agent)
    ops = new_context().new_page()
    login(ops, OPS)
    ops.goto("/operations/baggage")
    row = ops.get_by_role("row").filter(has_text=order.code)
    with same_document(ops):
        row.locator("summary").filter(has_text="Fail").click()
        row.get_by_label("Reason (the agency sees it)").fill("Airline system closed for this flight")
        row.get_by_role("button", name="Fail").click()
        expect(row).to_contain_text("Failed")
    login(page, AGENT)
    open_booking(page, "AT10000001")
    expect(page.get_by_role("table", name="Baggage added after ticketing")).to_contain_text(
        "Airline system closed for this flight"
    )


def _changed_booking(make):
    doc = booking_doc(
        "SC10000001",
        passengers=[passenger_doc("P1", "NAIR", "ARJUN", "618-2400000071")],
    )
    doc["segments"][0].update(departure="2031-03-14T10:05:00+08:00", arrival="2031-03-14T11:35:00+07:00")
    doc["segments"][1].update(departure="2031-03-21T12:00:00+07:00", arrival="2031-03-21T15:20:00+08:00")
    make.import_bookings(doc)
    make.import_bookings(rescheduled(doc, segment=0, hours=3))


def test_reimported_change_shows_action_required_and_the_free_refund_starts(page, world, make, login):
    _changed_booking(make)
    login(page, AGENT)

    badge = page.get_by_role("link", name="Action required: 1")
    expect(badge).to_be_visible()
    badge.click()
    expect(page).to_have_url(re.compile(r"status=action_required"))
    expect(page.locator("#results table tbody tr td:first-child")).to_have_text(["SC10000001"])

    open_booking(page, "SC10000001")
    notice = page.locator("#action-required")
    expect(notice).to_contain_text("Action required")
    change = notice.get_by_role("row").filter(has_text="SQ978")
    expect(change).to_contain_text("14 Mar 2031 10:05 (UTC+08:00) → 14 Mar 2031 11:35 (UTC+07:00)")
    expect(change).to_contain_text("14 Mar 2031 13:05 (UTC+08:00) → 14 Mar 2031 14:35 (UTC+07:00)")

    notice.get_by_role("link", name="Free refund").click()
    expect(page).to_have_url(re.compile(r"/bookings/SC10000001/cancel-refund/operator\?.*involuntary=1"))
    expect(
        page.get_by_label("Involuntary: the airline changed or cancelled the schedule (no fees)")
    ).to_be_checked()
    quote = page.locator("table.quote")
    expect(quote).to_contain_text("NAIR/ARJUN MR")
    expect(quote.locator("tfoot")).to_contain_text("SGD 505.50")  # base 420.00 + all taxes 85.50
    expect(quote.locator("tbody tr").first).not_to_contain_text("150.00")  # no cancellation fee
    page.get_by_role("button", name="Refund", exact=True).click()

    expect(page).to_have_url(re.compile(r"/bookings/SC10000001/refund-info$"))
    expect(page.get_by_text(re.compile(r"Refund RF\d{8} requested"))).to_be_visible()
    expect(page.locator("#action-required")).not_to_contain_text("Accept change")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My Bookings").click()
    expect(page.get_by_role("link", name=re.compile("Action required:"))).to_have_count(0)


def test_agent_accepts_the_change_in_place(page, world, make, login):
    _changed_booking(make)
    login(page, AGENT)
    open_booking(page, "SC10000001")
    with same_document(page):
        page.get_by_role("button", name="Accept change").click()
        expect(page.get_by_text("Schedule change accepted")).to_be_visible()
        expect(page.get_by_role("button", name="Accept change")).to_have_count(0)
        expect(page.get_by_role("link", name="Free refund")).to_have_count(0)
    page.reload()
    expect(page.get_by_text("Action required —")).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text="New times")).to_contain_text("Accepted")


def test_operations_see_open_schedule_changes(page, world, make, login):
    _changed_booking(make)
    login(page, OPS)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Schedule changes").click()
    expect(page.get_by_role("heading", name="Schedule changes", level=1)).to_be_visible()
    row = page.get_by_role("row").filter(has_text="SC10000001")
    expect(row).to_contain_text("DEMO")
    expect(row).to_contain_text("Open")
    with same_document(page):
        page.get_by_label("Account").select_option(label="OTHER")
        expect(page.get_by_text("No schedule changes match.")).to_be_visible()


def test_operations_sort_the_baggage_queue_and_a_filter_keeps_the_order(page, world, db, login):
    first = order_baggage(db, world.booking, world.agent)
    second = order_baggage(db, world.other_booking, world.other_agent)
    login(page, OPS)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Baggage orders").click()
    rows = page.locator("#results tbody tr")
    expect(rows.first).to_contain_text(first.code)  # oldest requested first
    with same_document(page):
        page.get_by_role("link", name="Requested", exact=True).click()
        expect(page.get_by_role("columnheader", name="Requested")).to_have_attribute(
            "aria-sort", "descending"
        )
        expect(rows.first).to_contain_text(second.code)
        expect(page).to_have_url(re.compile(r"sort=requested&dir=desc"))
        # Choosing a filter keeps the order: the URL and the rows.
        page.get_by_label("Status").select_option(label="Any")
        expect(page).to_have_url(re.compile(r"status=any.*sort=requested&dir=desc"))
        expect(rows.first).to_contain_text(second.code)
        expect(rows).to_have_count(2)
