"""Tables and navigation as they lay out in a real browser: dates and amounts on one line at 1366 px."""

from __future__ import annotations

import pytest

from tests.conftest import booking_doc, passenger_doc

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"
OPS = "ops@host.example"
DESKTOP = {"width": 1366, "height": 768}

# The number of lines the first text of a cell is laid out on (a date, or an amount before its note).
LINES_OF_FIRST_TEXT = """cell => {
  const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
  let node = walker.nextNode();
  while (node && !node.textContent.trim()) node = walker.nextNode();
  const range = document.createRange();
  range.selectNodeContents(node);
  return Array.from(range.getClientRects()).filter(rect => rect.width > 0).length;
}"""


def cell(page, table: str, header: str):
    """The first row's cell under the column headed `header` in `table`."""
    headers = page.locator(f"{table} thead th")
    expect(headers.first).to_be_visible()
    texts = [text.strip() for text in headers.all_inner_texts()]
    column = next(i for i, text in enumerate(texts) if text.startswith(header))
    return page.locator(f"{table} tbody tr").first.locator("td").nth(column)


def assert_one_line(page, table: str, *headers: str) -> None:
    for header in headers:
        target = cell(page, table, header)
        expect(target).to_be_visible()
        assert target.evaluate(LINES_OF_FIRST_TEXT) == 1, f"{header}: {target.inner_text()!r} wraps"


@pytest.fixture
def long_names(make, world):
    """A booking and a refund whose passengers' names are long, as real ones are, so columns compete."""

    surname = "VANDERWESTHUIZEN-MONTGOMERY"
    booking = make.booking(
        order_number="AT10000002",
        account="DEMO",
        passengers=[
            passenger_doc("P1", surname, "ALEXANDRA KATHERINE ELIZABETH", "618-2400000801"),
            passenger_doc("P2", surname, "MAXIMILIAN FREDERICK", "618-2400000802"),
        ],
    )
    return make.refund(booking, world.agent, passengers=["P1", "P2"])


def test_dates_and_amounts_stay_on_one_line_at_1366(new_context, login, world, make, long_names):
    agent = new_context(viewport=DESKTOP).new_page()
    login(agent, AGENT)
    assert_one_line(agent, "table.list", "Departure", "Issued")
    agent.goto("/finance/refunds")
    assert_one_line(agent, "table.finance-refunds", "Submitted", "Estimated amount")

    ops = new_context(viewport=DESKTOP).new_page()
    login(ops, OPS, to_bookings=False)
    ops.goto("/operations/refunds")
    assert_one_line(ops, "table.queue", "Received by", "Amount")


def test_a_long_list_keeps_its_header_row_in_sight(new_context, login, make, world):
    make.import_bookings(*(booking_doc(order_number=f"AT2{n:07d}", account="DEMO") for n in range(24)))
    agent = new_context(viewport=DESKTOP).new_page()
    login(agent, AGENT)
    rows = agent.locator("table.list tbody tr")
    expect(rows).to_have_count(25)
    wrapper = agent.locator(".table-wrap").first
    # Scroll the list down by 400 px, whichever box scrolls: the window or the table's own box.
    wrapper.evaluate("w => { w.scrollIntoView(); w.scrollTop += 400; window.scrollBy(0, 400); }")
    header = agent.locator("table.list thead th").first
    top_of_view = max(0, wrapper.bounding_box()["y"])
    assert abs(header.bounding_box()["y"] - top_of_view) < 1
    assert rows.first.bounding_box()["y"] < top_of_view  # the list did scroll under its header


def test_staff_navigation_reads_without_my_and_fits_one_line_at_1366(new_context, login, world):
    admin = new_context(viewport=DESKTOP).new_page()
    login(admin, "admin@host.example", to_bookings=False)
    nav = admin.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Bookings", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Requests", exact=True)).to_be_visible()
    expect(nav.get_by_text("My ")).to_have_count(0)
    links = nav.get_by_role("link")
    tops = {round(link.bounding_box()["y"]) for link in links.all() if link.is_visible()}
    tops.add(round(nav.get_by_text("Admin", exact=True).bounding_box()["y"]))
    assert len(tops) == 1, f"the main navigation wraps onto {len(tops)} lines"

    # The Admin menu opens without JavaScript's help and leads to its pages.
    nav.get_by_text("Admin", exact=True).click()
    nav.get_by_role("link", name="Audit trail").click()
    expect(admin.get_by_role("heading", name="Audit trail", level=1)).to_be_visible()

    agent = new_context(viewport=DESKTOP).new_page()
    login(agent, AGENT, to_bookings=False)
    agent_nav = agent.get_by_role("navigation", name="Main")
    expect(agent_nav.get_by_role("link", name="My Bookings")).to_be_visible()
    expect(agent_nav.get_by_role("link", name="My Requests")).to_be_visible()


def test_the_refund_queue_fits_a_phone_without_the_page_scrolling_sideways(new_context, login, world, make):
    make.refund(world.booking, world.agent)
    ops = new_context(viewport={"width": 390, "height": 844}).new_page()
    login(ops, OPS, to_bookings=False)
    ops.goto("/operations/refunds")
    expect(ops.locator("table.queue tbody tr")).to_have_count(1)
    assert ops.evaluate("document.documentElement.scrollWidth") <= 390
    # The table still reads in full: it scrolls inside its own box.
    wrapper = ops.locator(".table-wrap").first
    assert wrapper.evaluate("w => w.scrollWidth > w.clientWidth && getComputedStyle(w).overflowX === 'auto'")
