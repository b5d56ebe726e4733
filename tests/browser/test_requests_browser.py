"""Service requests in the browser, by the labels users see: raise a Cancel & Refund request from a
booking, quote it as operations, accept it as the agent; New Request with an order number; an admin's
rename reaching the agent's form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.browser.conftest import open_admin_menu
from tests.conftest import portal_today

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"
OPS = "ops@host.example"
ADMIN = "admin@host.example"


def nav(page, name):
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def test_cancel_and_refund_request_quoted_by_operations_and_accepted(page, new_context, world, login):
    login(page, AGENT)
    page.goto("/bookings/AT10000001", wait_until="load")
    page.get_by_role("link", name="Raise a Request").click()

    slideout = page.get_by_role("dialog")
    expect(slideout).to_contain_text("Raise a Request")
    slideout.get_by_label("Category").select_option(label="Cancel & Refund")
    expect(slideout).to_contain_text("Operations will post a quote")
    slideout.get_by_label("Describe the issue").fill("Passenger cannot travel; please cancel and quote.")
    expect(slideout.get_by_label("TAN/WEI MING MR")).to_be_checked()
    slideout.get_by_role("button", name="Submit").click()

    page.wait_for_url(re.compile(r"/requests/SR\d{8}$"))
    number = page.url.rsplit("/", 1)[1]
    expect(page.get_by_role("heading", level=1)).to_contain_text(number)
    expect(page.get_by_role("heading", level=1)).to_contain_text("New")
    expect(page.get_by_text("No quote yet")).to_be_visible()

    ops = new_context().new_page()
    login(ops, OPS)
    nav(ops, "Request queue")
    ops.get_by_role("link", name=number).click()
    ops.get_by_text("Post a quote").click()
    ops.get_by_label("Amount for TAN/WEI MING MR (SGD)").fill("333.00")
    ops.get_by_label("Valid until").fill((portal_today() + timedelta(days=3)).isoformat())
    ops.get_by_role("button", name="Post quote").click()
    expect(ops.get_by_text("Quote posted: SGD 333.00").first).to_be_visible()
    expect(ops.get_by_role("heading", level=1)).to_contain_text("Processed")

    page.reload()
    expect(page.get_by_text("SGD 333.00").first).to_be_visible()
    page.get_by_role("button", name="Accept").click()

    page.wait_for_url(re.compile(r"/bookings/AT10000001/refund-info$"))
    expect(page.get_by_role("tab", name="Refund Info")).to_have_attribute("aria-selected", "true")
    panel = page.get_by_role("tabpanel")
    expect(panel).to_contain_text("Cancel & Refund request (quoted)")
    expect(panel).to_contain_text("SGD 333.00")
    expect(panel).to_contain_text("Requested")


def test_new_request_with_an_order_number(page, world, login):
    login(page, AGENT)
    nav(page, "My Requests")
    expect(page.get_by_role("heading", name="My Requests", level=1)).to_be_visible()
    page.get_by_role("link", name="New Request").click()
    page.wait_for_url(re.compile(r"/requests/new$"), wait_until="load")

    order = page.get_by_label("Order number")
    order.press_sequentially("OT20000001")  # another account's order: the same as unknown
    expect(page.get_by_text("No booking with this order number in your account")).to_be_visible()
    order.fill("")
    order.press_sequentially("AT10000001")
    expect(page.get_by_text("Booking found: PNR K3X9QZ")).to_be_visible()
    expect(page.get_by_label("TAN/WEI MING MR")).to_be_checked()
    expect(order).to_be_focused()

    page.get_by_label("Category").select_option(label="Other")
    page.get_by_label("Describe the issue").fill("Please send the e-ticket receipt again.")
    page.get_by_role("button", name="Submit").click()

    page.wait_for_url(re.compile(r"/requests/SR\d{8}$"))
    expect(page.get_by_text("Please send the e-ticket receipt again.")).to_be_visible()
    page.get_by_label("Message").fill("Any news?")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#thread")).to_contain_text("Any news?")  # appears without a reload
    nav(page, "My Requests")
    expect(page.get_by_role("row").filter(has_text="AT10000001")).to_contain_text("Other")


def test_admin_renames_a_category_and_the_agent_sees_the_new_name(page, new_context, world, login):
    login(page, ADMIN)
    open_admin_menu(page)
    nav(page, "Request categories")
    row = page.get_by_role("row").filter(has_text="Name Correction")
    row.get_by_role("link", name="Rename").click()
    page.get_by_label("New name").fill("Passenger Name Change")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("row").filter(has_text="Passenger Name Change")).to_have_count(1)
    expect(page.get_by_text("Name Correction")).to_have_count(0)

    agent = new_context().new_page()
    login(agent, AGENT)
    agent.goto("/bookings/AT10000001", wait_until="load")
    agent.get_by_role("link", name="Raise a Request").click()
    category = agent.get_by_role("dialog").get_by_label("Category")
    expect(category.locator("option", has_text="Passenger Name Change")).to_have_count(1)
    expect(category.locator("option", has_text="Name Correction")).to_have_count(0)


def test_agent_refund_without_a_description_cannot_then_be_cancelled(page, world, login):
    """Issue 13: choose Agent & Passenger Initiated Refund and Submit (no description); the request page
    says why it cannot be cancelled instead of offering Cancel request."""
    login(page, AGENT)
    page.goto("/bookings/AT10000001", wait_until="load")
    page.get_by_role("link", name="Raise a Request").click()
    slideout = page.get_by_role("dialog")
    slideout.get_by_label("Category").select_option(label="Agent & Passenger Initiated Refund")
    expect(slideout).to_contain_text("A description is optional.")
    slideout.get_by_role("button", name="Submit").click()

    page.wait_for_url(re.compile(r"/requests/SR\d{8}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("New")
    expect(page.get_by_text(re.compile(r"refund RF\d{8} was submitted from it"))).to_be_visible()
    expect(page.get_by_role("button", name="Cancel request")).to_have_count(0)


def test_operations_quote_is_prefilled_and_bounded(page, world, login, db):
    """Issue 13: the quote form starts from the computed quote; an amount above fare and taxes is refused
    under that passenger's amount."""
    from tests.conftest import raise_service_request

    req = raise_service_request(db, world.booking, world.agent)
    login(page, OPS)
    page.goto(f"/requests/{req.number}", wait_until="load")
    page.get_by_text("Post a quote").click()
    amount = page.get_by_label("Amount for TAN/WEI MING MR (SGD)")
    expect(amount).to_have_value("315.00")
    amount.fill("999,999.00")
    page.get_by_label("Valid until").fill((portal_today() + timedelta(days=7)).isoformat())
    page.get_by_role("button", name="Post quote").click()
    expect(page.locator("#amount-P1-error")).to_contain_text("Enter at most SGD 505.50 for TAN/WEI MING MR")
    expect(page.get_by_label("Amount for TAN/WEI MING MR (SGD)")).to_have_value("999,999.00")
