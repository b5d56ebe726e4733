"""Users' journeys through My Bookings, Booking Details, logout and user administration.

Everything is driven by what a user sees: labels, button and link names, headings. CSS selectors are
used only to read the results table.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone

import pytest

from portal.clock import utcnow
from tests.browser.conftest import open_admin_menu
from tests.conftest import PASSWORD, passenger_doc

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"
ADMIN = "admin@host.example"
SQ_MANAGE_BOOKING = "https://www.singaporeair.com/manage-booking"
SGT = timezone(timedelta(hours=8))
ICT = timezone(timedelta(hours=7))


def results(page):
    """The rows of the My Bookings results table."""
    return page.locator("#results table tbody tr")


def order_numbers(page):
    return page.locator("#results table tbody tr td:first-child")


@contextmanager
def same_document(page):
    """The steps inside change the page in place (htmx), without loading a new document.

    First the document has loaded, so htmx and portal.js are listening (a click that navigates returns
    once the new page commits, before its deferred scripts run: a filter changed then sent nothing)."""
    page.wait_for_load_state("load")
    page.evaluate("window.__sameDocument = true")
    yield
    assert page.evaluate("window.__sameDocument === true"), "the whole page was reloaded"


def open_booking(page, order_number):
    """Click the order number in the results and wait for Booking Details to load."""
    page.get_by_role("link", name=order_number, exact=True).click()
    page.wait_for_url(re.compile(rf"/bookings/{order_number}$"), wait_until="load")


def expect_single_page_chrome(page, heading):
    """The swap replaced a part only: one page heading, one navigation, one Log out button."""
    expect(page.get_by_role("heading", name=heading, level=1)).to_have_count(1)
    expect(page.get_by_role("navigation", name="Main")).to_have_count(1)
    expect(page.get_by_role("button", name="Log out")).to_have_count(1)


# 1. Login ----------------------------------------------------------------------------------------


def test_agent_logs_in_and_sees_only_own_bookings(page, world, login):
    login(page, AGENT, to_bookings=False)

    expect(page).to_have_url(re.compile(r"/home$"))  # Home first, then the bookings by the navigation
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My Bookings").click()
    expect(page).to_have_url(re.compile(r"/bookings/$"))
    expect(page.get_by_role("heading", name="My Bookings", level=1)).to_be_visible()
    expect(page.get_by_role("link", name="AT10000001")).to_be_visible()
    expect(page.get_by_text("OT20000001")).to_have_count(0)
    expect(order_numbers(page)).to_have_text(["AT10000001"])
    expect(page.get_by_text("Showing 1–1 of 1 booking")).to_be_visible()


def test_wrong_password_shows_an_error_and_stays_on_login(page, world, login):
    login(page, AGENT, "not the password", succeeds=False)

    expect(page.get_by_text("Email or password is not correct")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value(AGENT)
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_role("link", name="My Bookings")).to_have_count(0)


# 2. Search as you type ---------------------------------------------------------------------------


def _search_bookings(make):
    make.booking(
        order_number="AT10000002",
        pnr="L7M2NP",
        passengers=[passenger_doc("P1", "LIM", "HUI LING", "618-2400000002")],
    )
    make.booking(
        order_number="AT10000003",
        pnr="R4T8VW",
        passengers=[passenger_doc("P1", "NAIR", "ARJUN", "618-2400000003")],
    )
    make.booking(
        order_number="AT10000004",
        pnr="B2C5DX",
        passengers=[passenger_doc("P1", "GOH", "SIEW LAN", "157-2400000004")],
    )


def test_search_as_you_type_narrows_results_without_reloading_the_page(page, world, make, login):
    _search_bookings(make)
    login(page, AGENT)
    expect(results(page)).to_have_count(4)
    with same_document(page):
        search = page.get_by_label("Search", exact=True)

        # Part of a passenger name, typed key by key; no Enter, no click on Search.
        search.press_sequentially("nai")
        expect(order_numbers(page)).to_have_text(["AT10000003"])
        expect(results(page).first).to_contain_text("NAIR/ARJUN")
        expect(page).to_have_url(re.compile(r"[?&]q=nai(&|$)"))
        expect(search).to_have_value("nai")
        expect(search).to_be_focused()  # the field was not re-rendered under the user's fingers
        expect_single_page_chrome(page, "My Bookings")
        expect(page.get_by_role("search")).to_have_count(1)

        # Clearing the field shows everything again.
        search.fill("")
        expect(results(page)).to_have_count(4)
        expect(page).to_have_url(re.compile(r"[?&]q=(&|$)"))

        # Another account's booking with the same passenger name stays invisible.
        search.press_sequentially("lim hui")
        expect(order_numbers(page)).to_have_text(["AT10000002"])
        expect(page.get_by_text("OT20000001")).to_have_count(0)

        # Ticket number, with or without the airline prefix and hyphen.
        search.fill("")
        search.press_sequentially("157-2400000004")
        expect(order_numbers(page)).to_have_text(["AT10000004"])
        search.fill("")
        search.press_sequentially("2400000003")
        expect(order_numbers(page)).to_have_text(["AT10000003"])

        # PNR.
        search.fill("")
        search.press_sequentially("L7M2NP")
        expect(order_numbers(page)).to_have_text(["AT10000002"])
        expect(page).to_have_url(re.compile(r"[?&]q=L7M2NP(&|$)"))

        # Nothing matches: a message, no table.
        search.fill("")
        search.press_sequentially("ZZZZ")
        expect(page.get_by_text("No bookings match.")).to_be_visible()
        expect(results(page)).to_have_count(0)
        expect_single_page_chrome(page, "My Bookings")


def test_search_url_is_bookmarkable(page, world, make, login):
    _search_bookings(make)
    login(page, AGENT)
    with same_document(page):
        page.get_by_label("Search", exact=True).press_sequentially("nair")
        expect(order_numbers(page)).to_have_text(["AT10000003"])

    # The pushed URL, opened afresh, gives the whole page with the same results and the query kept.
    page.reload()
    expect(order_numbers(page)).to_have_text(["AT10000003"])
    expect(page.get_by_label("Search", exact=True)).to_have_value("nair")
    expect_single_page_chrome(page, "My Bookings")


# 3. Booking Details and its tabs -----------------------------------------------------------------


def _local_segments(departure: datetime):
    """SIN (UTC+08:00) to BKK (UTC+07:00) and back: each time in its own airport's zone."""
    out_dep = departure.astimezone(SGT)
    out_arr = (departure + timedelta(hours=2, minutes=30)).astimezone(ICT)
    back_dep = (departure + timedelta(days=7)).astimezone(ICT)
    back_arr = (departure + timedelta(days=7, hours=2, minutes=20)).astimezone(SGT)
    return [
        {
            "ref": ref,
            "flight_number": flight,
            "origin": origin,
            "destination": destination,
            "departure": dep.isoformat(),
            "arrival": arr.isoformat(),
            "cabin": "Y",
            "status": "confirmed",
        }
        for ref, flight, origin, destination, dep, arr in [
            ("S1", "SQ978", "SIN", "BKK", out_dep, out_arr),
            ("S2", "SQ979", "BKK", "SIN", back_dep, back_arr),
        ]
    ], (out_dep, out_arr, back_dep, back_arr)


def _shown(moment: datetime) -> str:
    offset = int(moment.utcoffset().total_seconds() // 3600)
    return f"{moment:%d %b %Y %H:%M} (UTC+{offset:02d}:00)"


def test_booking_details_and_tabs(page, world, make, login):
    departure = datetime(2031, 3, 14, 2, 5, tzinfo=UTC)  # 10:05 in Singapore
    segments, (out_dep, out_arr, back_dep, back_arr) = _local_segments(departure)
    make.booking(
        order_number="AT10000005",
        pnr="Q9W8E7",
        segments=segments,
        passengers=[passenger_doc("P1", "NAIR", "ARJUN", "618-2400000005")],
    )
    login(page, AGENT)

    open_booking(page, "AT10000005")

    expect_single_page_chrome(page, "Booking Details AT10000005")
    expect(page.get_by_text("NAIR/ARJUN MR")).to_be_visible()
    expect(page.get_by_text("618-2400000005")).to_be_visible()
    details_tab = page.get_by_role("tab", name="Details")
    expect(details_tab).to_have_attribute("aria-selected", "true")

    segment_rows = page.get_by_role("row").filter(has_text="SQ97")
    expect(segment_rows).to_have_count(2)
    outbound, inbound = segment_rows.nth(0), segment_rows.nth(1)
    expect(outbound).to_contain_text(_shown(out_dep))
    expect(outbound).to_contain_text(_shown(out_arr))
    expect(inbound).to_contain_text(_shown(back_dep))
    expect(inbound).to_contain_text(_shown(back_arr))
    assert _shown(out_dep) == "14 Mar 2031 10:05 (UTC+08:00)"
    assert _shown(out_arr) == "14 Mar 2031 11:35 (UTC+07:00)"

    panel = page.get_by_role("tabpanel")

    with same_document(page):
        page.get_by_role("tab", name="Refund Info").click()
        expect(page).to_have_url(re.compile(r"/bookings/AT10000005/refund-info$"))
        expect(panel).to_contain_text("No refunds for this booking yet.")
        expect(page.get_by_role("tab", name="Refund Info")).to_have_attribute("aria-selected", "true")
        expect(details_tab).to_have_attribute("aria-selected", "false")
        expect(page.get_by_text("618-2400000005")).to_have_count(0)
        expect_single_page_chrome(page, "Booking Details AT10000005")
        expect(page.get_by_role("tabpanel")).to_have_count(1)
        expect(page.get_by_role("tablist")).to_have_count(1)

        page.get_by_role("tab", name="Request History").click()
        expect(page).to_have_url(re.compile(r"/bookings/AT10000005/request-history$"))
        expect(panel).to_contain_text("No requests for this booking yet.")
        expect(page.get_by_role("tab", name="Request History")).to_have_attribute("aria-selected", "true")

        details_tab.click()
        expect(page).to_have_url(re.compile(r"/bookings/AT10000005$"))
        expect(panel).to_contain_text("618-2400000005")
        expect(details_tab).to_have_attribute("aria-selected", "true")
        expect_single_page_chrome(page, "Booking Details AT10000005")
        expect(page.get_by_role("tabpanel")).to_have_count(1)

    # A direct visit (reload) of a tab URL gives the whole page with that tab selected.
    with same_document(page):
        page.get_by_role("tab", name="Refund Info").click()
        expect(page).to_have_url(re.compile(r"/refund-info$"))
    page.reload()
    expect_single_page_chrome(page, "Booking Details AT10000005")
    expect(page.get_by_role("tab", name="Refund Info")).to_have_attribute("aria-selected", "true")
    expect(panel).to_contain_text("No refunds for this booking yet.")
    expect(page.get_by_text("Q9W8E7")).to_be_visible()  # the booking header is there too

    # Back goes to the previous tab.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/bookings/AT10000005$"))
    expect(panel).to_contain_text("618-2400000005")
    expect_single_page_chrome(page, "Booking Details AT10000005")


def test_other_accounts_booking_is_not_found(page, world, login):
    login(page, AGENT)
    response = page.goto("/bookings/OT20000001")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_text("LIM/HUI LING")).to_have_count(0)


# 4. The 24-hour notice ---------------------------------------------------------------------------


def test_departure_within_24_hours_shows_the_airline_manage_booking_notice(page, world, make, login):
    make.booking(
        order_number="AT10000006",
        pnr="S0ON24",
        departure=utcnow() + timedelta(hours=20),
        passengers=[passenger_doc("P1", "LIM", "HUI LING", "618-2400000006")],
    )
    login(page, AGENT)
    open_booking(page, "AT10000006")

    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("Departs within 24 hours")
    expect(notice).to_contain_text("Singapore Airlines")
    link = notice.get_by_role("link", name="Manage My Booking")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", SQ_MANAGE_BOOKING)


def test_departure_in_30_days_shows_no_24_hour_notice(page, world, make, login):
    login(page, AGENT)
    open_booking(page, "AT10000001")  # world's booking departs in 30 days

    expect(page.get_by_role("heading", name="Booking Details AT10000001")).to_be_visible()
    expect(page.get_by_text("Departs within 24 hours")).to_have_count(0)
    expect(page.get_by_role("link", name="Manage My Booking")).to_have_count(0)


# 5. Filters --------------------------------------------------------------------------------------


def _channel_bookings(make):
    make.booking(
        order_number="AT10000007",
        pnr="V1C2C3",
        payment_channel="vcc",
        passengers=[passenger_doc("P1", "NAIR", "ARJUN", "618-2400000007")],
    )
    make.booking(
        order_number="AT10000008",
        pnr="V4P5T6",
        payment_channel="vcc_passthrough",
        passengers=[passenger_doc("P1", "GOH", "SIEW LAN", "618-2400000008")],
    )


def test_payment_channel_filter_applies_on_change(page, world, make, login):
    _channel_bookings(make)
    login(page, AGENT)
    expect(results(page)).to_have_count(3)

    with same_document(page):
        page.get_by_label("Payment channel").select_option(label="VCC")

        expect(order_numbers(page)).to_have_text(["AT10000007"])
        expect(results(page).first).to_contain_text("VCC")
        expect(page).to_have_url(re.compile(r"[?&]payment_channel=vcc(&|$)"))
        expect_single_page_chrome(page, "My Bookings")

        page.get_by_label("Payment channel").select_option(label="Any")
        expect(results(page)).to_have_count(3)


def test_payment_channel_filter_works_without_javascript(new_context, world, make, login):
    _channel_bookings(make)
    page = new_context(java_script_enabled=False).new_page()
    login(page, AGENT)
    expect(results(page)).to_have_count(3)

    page.get_by_label("Payment channel").select_option(label="VCC")
    expect(results(page)).to_have_count(3)  # without JavaScript nothing happens before Search
    page.get_by_role("button", name="Search").click()

    expect(page).to_have_url(re.compile(r"/bookings/\?.*payment_channel=vcc(&|$)"))
    expect(order_numbers(page)).to_have_text(["AT10000007"])
    expect_single_page_chrome(page, "My Bookings")
    expect(page.get_by_label("Payment channel")).to_have_value("vcc")


# 6. Logout ---------------------------------------------------------------------------------------


def test_logout_returns_to_login_and_bookings_need_login_again(page, world, login):
    login(page, AGENT)
    expect(page.get_by_role("heading", name="My Bookings")).to_be_visible()

    page.get_by_role("button", name="Log out").click()

    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    page.go_back()
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(page.get_by_text("AT10000001")).to_have_count(0)

    page.goto("/bookings/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fbookings%2F$"))
    expect(page.get_by_text("Please log in to continue.")).to_be_visible()
    expect(page.get_by_text("AT10000001")).to_have_count(0)


# 7. Admin: users ---------------------------------------------------------------------------------


def open_users(page):
    open_admin_menu(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    expect(page.get_by_role("heading", name="Users", level=1)).to_be_visible()


def submit_user_form(page):
    """Click Create user; returns the status of the form's POST (a crash fails fast, not by timeout)."""
    with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/admin/users")
    ) as post:
        page.get_by_role("button", name="Create user").click()
    return post.value.status


def expect_login_refused(page):
    expect(page.get_by_text("Email or password is not correct, or the user is disabled.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("link", name="My Bookings")).to_have_count(0)


def test_admin_creates_an_agent_then_disables_it_and_it_cannot_log_in(page, new_context, world, login):
    new_agent = "new.agent@demo.example"
    login(page, ADMIN)
    open_users(page)

    page.get_by_label("Email").fill(new_agent)
    page.get_by_label("Name", exact=True).fill("New Agent")
    page.get_by_label("Role").select_option(label="Agent")
    page.get_by_label("Client account").select_option(label="DEMO — DEMO Travel")
    page.get_by_label("Password").fill(PASSWORD)
    assert submit_user_form(page) == 303

    expect(page.get_by_text(f"User {new_agent} created.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=new_agent)
    expect(row).to_have_count(1)
    expect(row).to_contain_text("New Agent")
    expect(row).to_contain_text("DEMO")
    expect(row).to_contain_text("Active")

    row.get_by_role("button", name="Disable").click()

    expect(page.get_by_text(f"User {new_agent} disabled.")).to_be_visible()
    expect(row).to_contain_text("Disabled")
    expect(row.get_by_role("button", name="Enable")).to_be_visible()

    other = new_context().new_page()
    login(other, new_agent, succeeds=False)
    expect_login_refused(other)


def test_admin_disables_an_agent_who_is_logged_out_and_cannot_log_in_again(
    page, new_context, world, make, login
):
    agent = make.user("agent", world.demo, email="to.disable@demo.example", name="Soon Disabled")
    agent_page = new_context().new_page()
    login(agent_page, agent.email)
    expect(agent_page.get_by_role("heading", name="My Bookings")).to_be_visible()

    login(page, ADMIN)
    open_users(page)
    row = page.get_by_role("row").filter(has_text="to.disable@demo.example")
    expect(row).to_contain_text("Soon Disabled")
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Disable").click()

    expect(page.get_by_text("User to.disable@demo.example disabled.")).to_be_visible()
    expect(row).to_contain_text("Disabled")
    expect(row.get_by_role("button", name="Enable")).to_be_visible()
    # The admin cannot disable themself: no button on their own row.
    expect(page.get_by_role("row").filter(has_text=ADMIN).get_by_role("button")).to_have_count(0)

    # The session the agent already had is over...
    agent_page.reload()
    expect(agent_page).to_have_url(re.compile(r"/login\?next="))
    expect(agent_page.get_by_text("AT10000001")).to_have_count(0)

    # ...and a new browser cannot log in.
    fresh = new_context().new_page()
    login(fresh, agent.email, succeeds=False)
    expect_login_refused(fresh)


def test_admin_user_form_shows_errors_by_the_fields(page, world, login):
    login(page, ADMIN)
    open_users(page)

    page.get_by_label("Name", exact=True).fill("No Email")
    page.get_by_label("Password").fill("short")
    assert submit_user_form(page) == 422

    expect(page.get_by_text("This field is required.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_text("The password must have at least 10 characters.")).to_be_visible()
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Name", exact=True)).to_have_value("No Email")
    expect(page.get_by_role("row").filter(has_text="No Email")).to_have_count(0)
