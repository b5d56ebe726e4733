"""The Refund slide-out in the browser (issue 13): a family with an infant confirms as the slide-out opens,
unticking everyone ticks nobody, and a booking with nothing left says so plainly."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_bookings_browser import open_booking, same_document
from tests.conftest import passenger_doc

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"


def family(make):
    """Two adults and an infant; DEMO's service fee is 15.00 and the infant gets only 10.00 back
    (a 40.00 fare less a 30.00 cancellation fee, no refundable taxes), so the infant nets 0."""
    make.booking(
        order_number="FM10000001",
        passengers=[
            passenger_doc("P1", "TAN", "WEI MING", "618-2400000071"),
            passenger_doc("P2", "TAN", "HUI LING", "618-2400000072"),
            passenger_doc(
                "P3",
                "TAN",
                "BABY",
                "618-2400000073",
                ptype="INF",
                base="40.00",
                taxes="12.00",
                refundable_taxes="0.00",
                cancellation_fee="30.00",
            ),
        ],
    )


def test_a_family_with_an_infant_confirms_the_refund_as_it_opens(page, world, make, login):
    family(make)
    login(page, AGENT)
    open_booking(page, "FM10000001")

    with same_document(page):
        page.get_by_role("link", name="Refund", exact=True).click()
        panel = page.get_by_role("dialog", name="Refund FM10000001")
        expect(panel).to_be_visible()
        quote = panel.locator("table.quote")
        infant = quote.get_by_role("row").filter(has_text="TAN/BABY")
        expect(infant).to_contain_text("Gets nothing: the service fee takes all that would come back")
        expect(quote.get_by_role("row").filter(has_text="TAN/WEI MING")).to_contain_text("Exact quote")
        expect(quote.locator("tfoot")).to_contain_text("SGD 630.00")
        expect(panel.get_by_text("Passengers marked “Gets nothing” go into this refund")).to_be_visible()
        expect(panel.get_by_role("button", name="Refund", exact=True)).to_be_enabled()

        # Unticking everyone ticks nobody (it used to tick them all again) and there is nothing to confirm.
        # Each step waits for the new quote (the swap), so the next click acts on the updated form.
        names = ("TAN/WEI MING", "TAN/HUI LING", "TAN/BABY")
        for left, name in enumerate(names, start=1):
            panel.get_by_label(name).uncheck()
            expect(panel.locator("table.quote tbody tr")).to_have_count(len(names) - left)
        expect(panel.get_by_text("Select at least one passenger to refund.")).to_be_visible()
        for name in names:
            expect(panel.get_by_label(name)).not_to_be_checked()
        expect(panel.get_by_role("button", name="Refund", exact=True)).to_be_disabled()

        # Ticking them again brings the same quote back.
        for count, name in enumerate(names, start=1):
            panel.get_by_label(name).check()
            expect(panel.locator("table.quote tbody tr")).to_have_count(count)
        for name in names:
            expect(panel.get_by_label(name)).to_be_checked()
        expect(panel.locator("table.quote tfoot")).to_contain_text("SGD 630.00")
        expect(panel.locator("table.quote").get_by_role("row").filter(has_text="TAN/BABY")).to_contain_text(
            "Gets nothing"
        )
        expect(panel.get_by_role("button", name="Refund", exact=True)).to_be_enabled()

    panel.get_by_role("button", name="Refund", exact=True).click()
    expect(page).to_have_url(re.compile(r"/bookings/FM10000001/refund-info$"))
    expect(page.get_by_text(re.compile(r"Refund RF\d{8} requested"))).to_be_visible()
    expect(page.locator("article.refund").first).to_contain_text("TAN/BABY")


def test_a_fully_refunded_booking_says_nothing_is_left_to_refund(page, world, make, login):
    make.refund(world.booking, world.agent)
    login(page, AGENT)
    open_booking(page, "AT10000001")
    with same_document(page):
        page.get_by_role("link", name="Refund", exact=True).click()
        panel = page.get_by_role("dialog", name="Refund AT10000001")
        expect(panel).to_contain_text("Nothing left to refund")
        expect(panel).to_contain_text("already in a refund")
        expect(panel.get_by_role("alert")).to_have_count(0)
        expect(panel.get_by_role("button", name="Refund", exact=True)).to_have_count(0)
