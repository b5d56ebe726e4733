"""Lists at speed (issue 14) and their sortable columns (issue 15): the SQL of a list does not grow with the
rows on its page, long lists are counted only so far, and a header link sorts the list in the URL."""

import re
from datetime import timedelta

import pytest

from portal.clock import utcnow
from portal.extensions import db
from tests.conftest import POSTGRES, passenger_doc, raise_service_request


def order_numbers(response) -> list[str]:
    """The order numbers of My Bookings' rows, top to bottom."""
    return re.findall(r'<td><a href="/bookings/([A-Z0-9]+)">', response.get_data(as_text=True))


def _bookings(make, prefix: str, n: int, *, passengers: int = 1, start_days: int = 5, series: int = 3):
    now = utcnow()
    for i in range(n):
        make.booking(
            order_number=f"{prefix}{i:06d}",
            passengers=[
                passenger_doc(f"P{p}", "SPEED", f"PAX {chr(65 + p)}", f"618-{series}{i:04d}{p:05d}")
                for p in range(passengers)
            ],
            departure=now + timedelta(days=start_days + (i * 7) % 40, hours=i),
        )


def test_the_lists_sql_does_not_grow_with_the_rows_on_its_page(
    client, auth, make, world, count_queries, monkeypatch
):
    auth.login(world.agent)
    monkeypatch.setitem(client.application.config, "PER_PAGE", 2)
    _bookings(make, "QS", 2, passengers=1)
    client.get("/bookings/", query_string={"q": "SPEED"})  # warm up
    with count_queries() as two_rows:
        assert len(order_numbers(client.get("/bookings/", query_string={"q": "SPEED"}))) == 2
    monkeypatch.setitem(client.application.config, "PER_PAGE", 25)
    _bookings(make, "QL", 23, passengers=4, series=4)
    with count_queries() as full_page:
        assert len(order_numbers(client.get("/bookings/", query_string={"q": "SPEED"}))) == 25
    # The same statements, whatever the rows, their passengers and their segments.
    assert len(two_rows.statements) == len(full_page.statements), full_page.statements


def test_a_long_list_is_counted_only_so_far_and_next_still_pages_on(client, auth, make, world, monkeypatch):
    from portal.services import bookings as bookings_service

    _bookings(make, "CC", 7)
    monkeypatch.setattr(bookings_service, "LIST_COUNT_CAP", 3)
    monkeypatch.setitem(client.application.config, "PER_PAGE", 2)
    auth.login(world.agent)
    first = client.get("/bookings/", query_string={"q": "SPEED"}).get_data(as_text=True)
    assert "Showing 1–2 of 3+ bookings" in first
    # Past the capped count, the probe of the next row still offers Next, and the last page is exact.
    third = client.get("/bookings/", query_string={"q": "SPEED", "page": 3}).get_data(as_text=True)
    assert "Showing 5–6 of" in third and 'rel="next"' in third
    last = client.get("/bookings/", query_string={"q": "SPEED", "page": 4}).get_data(as_text=True)
    assert "Showing 7–7 of 7 bookings" in last and 'rel="next"' not in last
    # A page past the end shows the last page the capped count knows of, with Next to go on.
    beyond = client.get("/bookings/", query_string={"q": "SPEED", "page": 40}).get_data(as_text=True)
    assert "Showing 3–4 of 5+ bookings" in beyond and 'rel="next"' in beyond


def test_a_header_link_sorts_my_bookings_in_the_url(client, auth, make, world):
    _bookings(make, "SO", 5)
    auth.login(world.agent)
    default = client.get("/bookings/", query_string={"q": "SPEED"})
    page = default.get_data(as_text=True)
    # Newest issued first by default, and the Issued header says so.
    assert re.search(r'<th scope="col" aria-sort="descending"><a class="sort" href="[^"]*sort=issued', page)
    by_departure = client.get("/bookings/", query_string={"q": "SPEED", "sort": "departure", "dir": "asc"})
    html = by_departure.get_data(as_text=True)
    rows = order_numbers(by_departure)
    departures = {n: (5 + (int(n[2:]) * 7) % 40) * 24 + int(n[2:]) for n in rows}
    assert rows == sorted(rows, key=departures.get) and len(rows) == 5
    assert re.search(r'aria-sort="ascending"><a class="sort" href="[^"]*sort=departure&amp;dir=desc', html)
    # The filters stay in the header links; the page number does not.
    assert "q=SPEED" in re.search(r'href="([^"]*sort=order_number[^"]*)"', html).group(1)
    descending = client.get("/bookings/", query_string={"q": "SPEED", "sort": "order_number", "dir": "desc"})
    assert order_numbers(descending) == [f"SO{i:06d}" for i in range(4, -1, -1)]
    ascending = client.get("/bookings/", query_string={"q": "SPEED", "sort": "order_number", "dir": "asc"})
    assert order_numbers(ascending) == [f"SO{i:06d}" for i in range(5)]


@pytest.mark.parametrize(
    "query",
    [
        {"sort": "pnr; DROP TABLE booking", "dir": "asc"},
        {"sort": "issued", "dir": "sideways"},
        {"sort": "", "dir": ""},
        {"sort": "departure", "dir": "asc", "page": "x"},
    ],
)
def test_an_invalid_sort_falls_back_to_the_default_never_a_500(client, auth, make, world, query):
    _bookings(make, "IV", 3)
    auth.login(world.agent)
    response = client.get("/bookings/", query_string={"q": "SPEED", **query})
    assert response.status_code == 200
    assert len(order_numbers(response)) == 3


@pytest.mark.skipif(POSTGRES, reason="SQLite's connection settings")
def test_sqlite_connections_use_the_write_ahead_log_and_wait_for_locks(client):
    with client.application.app_context():
        conn = db.session.connection()
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


# --- sortable columns of the other lists -----------------------------------------------------------


def positions(response, codes: list[str]) -> list[str]:
    """`codes` in the order the page's cells show them."""
    page = response.get_data(as_text=True)
    return sorted(codes, key=lambda code: page.index(f">{code}<"))


@pytest.fixture
def three_bookings(clock, make, world):
    """Three DEMO bookings (besides the world's), one passenger each."""
    return [
        make.booking(
            order_number=f"SX{i:08d}", passengers=[passenger_doc("P1", "SORT", "ME", f"618-5{i:09d}")]
        )
        for i in range(3)
    ]


def test_my_requests_and_the_request_queue_sort_by_their_headers(
    client, auth, world, db, clock, three_bookings
):
    numbers = []
    for booking in three_bookings:
        numbers.append(raise_service_request(db, booking, world.agent, "other").number)
        clock.advance(hours=1)
    auth.login(world.agent)
    assert positions(client.get("/requests/"), numbers) == numbers[::-1]  # latest activity first
    raised = client.get("/requests/", query_string={"sort": "raised", "dir": "asc"})
    assert positions(raised, numbers) == numbers
    assert 'aria-sort="ascending"><a class="sort" href="/requests/?sort=raised&amp;dir=desc"' in raised.text
    by_number = client.get("/requests/", query_string={"sort": "number", "dir": "desc"})
    assert positions(by_number, numbers) == sorted(numbers, reverse=True)
    assert client.get("/requests/", query_string={"sort": "status", "dir": "up"}).status_code == 200
    auth.logout()
    auth.login(world.ops)
    queue = client.get("/operations/requests/")
    assert positions(queue, numbers) == numbers  # oldest first
    newest = client.get("/operations/requests/", query_string={"sort": "raised", "dir": "desc"})
    assert positions(newest, numbers) == numbers[::-1]


def test_the_refund_queue_and_finance_refunds_sort_by_their_headers(
    client, auth, world, make, clock, three_bookings
):
    codes = []
    for booking in three_bookings:
        codes.append(make.refund(booking, world.agent, path="cancel_refund").code)
        clock.advance(hours=1)
    auth.logout()
    auth.login(world.ops)
    assert positions(client.get("/operations/refunds"), codes) == codes  # oldest first
    newest = client.get("/operations/refunds", query_string={"sort": "received", "dir": "desc"})
    assert positions(newest, codes) == codes[::-1]
    assert 'aria-sort="descending"' in newest.text
    assert client.get("/operations/refunds", query_string={"sort": "amount; --"}).status_code == 200
    auth.logout()
    auth.login(world.agent)
    assert positions(client.get("/finance/refunds"), codes) == codes[::-1]  # newest first
    oldest = client.get("/finance/refunds", query_string={"sort": "code", "dir": "asc"})
    assert positions(oldest, codes) == codes
    assert (
        'aria-sort="ascending"><a class="sort" href="/finance/refunds?sort=code&amp;dir=desc"' in oldest.text
    )


def test_the_navigation_marks_the_current_page_and_follows_the_role(client, auth, world):
    auth.login(world.agent)
    bookings = client.get("/bookings/").text
    assert 'href="/bookings/" aria-current="page">My Bookings' in bookings
    requests_page = client.get("/requests/").text
    assert 'href="/requests/" aria-current="page">My Requests' in requests_page
    assert 'href="/bookings/" >My Bookings' in requests_page
    assert "Refund queue" not in bookings
    auth.logout()
    auth.login(world.ops)
    staff = client.get("/bookings/").text
    assert "Refund queue" in staff and 'href="/bookings/" aria-current="page">Bookings<' in staff


def test_the_header_drawn_once_per_role_and_page_shows_each_user_their_own(client, auth, world):
    # The header's links are rendered once per (role, page) and reused (links.header_part): what belongs to
    # a user (name, account, balance, unread count, the form token) must still be their own on every page.
    world.other_agent.name = "Other Agent"
    db.session.commit()
    auth.login(world.agent)
    first = client.get("/bookings/").text
    assert '<span class="who-role">DEMO</span>' in first
    first_token = re.search(r'name="csrf_token" value="([^"]+)"', first).group(1)
    auth.logout()
    auth.login(world.other_agent)
    second = client.get("/bookings/").text
    assert '<span class="who-role">OTHER</span>' in second and "DEMO</span>" not in second
    assert '<span class="who-name">Other Agent</span>' in second
    assert re.search(r'name="csrf_token" value="([^"]+)"', second).group(1) != first_token
    # The same parts on another page mark that page, not the one they were first drawn for.
    account = client.get("/account").text
    assert 'class="who-account" href="/account" aria-current="page"' in account
    assert 'href="/bookings/" >My Bookings' in account
    auth.logout()
    auth.login(world.agency_admin)
    assert "Agency users" in client.get("/bookings/").text  # another role, its own navigation


def test_the_header_parts_kept_stay_bounded_whatever_mount_points_are_named(client, auth, world, monkeypatch):
    # A proxy may pass a client's SCRIPT_NAME through: made-up mount points must not pile up in the
    # worker's memory, and each page still links under its own mount point.
    from portal import links

    monkeypatch.setattr(links, "_HEADER_PARTS_KEPT", 10)
    auth.login(world.agent)
    for n in range(12):
        prefix = f"/x{n}"
        page = client.get("/bookings/", environ_overrides={"SCRIPT_NAME": prefix})
        assert page.status_code == 200 and f'href="{prefix}/bookings/"' in page.text
        assert len(client.application.extensions["portal_header_parts"]) <= 10


def test_the_refund_queue_puts_overdue_refunds_first_across_pages(
    client, auth, world, make, db, clock, three_bookings, monkeypatch
):
    fourth = make.booking(
        order_number="SX00000009", passengers=[passenger_doc("P1", "SORT", "ME", "618-5999999999")]
    )
    refunds = []
    for booking in [*three_bookings, fourth]:
        refunds.append(make.refund(booking, world.agent, path="cancel_refund"))
        clock.advance(hours=1)
    for refund in refunds[2:]:  # the two newest are flagged overdue (and still waiting)
        refund.overdue_at = clock.advance(minutes=1)
    db.session.commit()
    codes = [r.code for r in refunds]
    monkeypatch.setitem(client.application.config, "PER_PAGE", 3)
    auth.login(world.ops)
    first = client.get("/operations/refunds")
    second = client.get("/operations/refunds", query_string={"page": 2})
    assert positions(first, [codes[2], codes[3], codes[0]]) == [codes[2], codes[3], codes[0]]
    assert f">{codes[1]}<" in second.text and f">{codes[0]}<" not in second.text
    assert "Showing 1–3 of 4 refunds" in first.text or "Showing 1–3 of 4" in first.text


def _passengers(n: int, series: int, i: int) -> list[dict]:
    return [
        passenger_doc(f"P{p}", "QUEUE", f"PAX {chr(65 + p)}", f"618-{series}{i:04d}{p:05d}") for p in range(n)
    ]


def queue_codes(response) -> list[str]:
    """The refund codes of the operations queue's rows, top to bottom."""
    return re.findall(r'<td><span class="mono">(RF\d+)</span>', response.text)


def test_the_refund_queues_sql_does_not_grow_with_its_rows(
    client, auth, make, world, clock, count_queries, monkeypatch
):
    """Two rows or a full page of refunds in every status, with their events, passengers, bookings and
    accounts: the same statements (the page's ids, its rows in one query, the count), and an action's
    answer reads its one row the same way."""
    monkeypatch.setitem(client.application.config, "PER_PAGE", 2)
    for i in range(2):
        make.refund(make.booking(order_number=f"RQ{i:06d}", passengers=_passengers(1, 6, i)), world.agent)
        clock.advance(minutes=1)
    auth.login(world.ops)
    client.get("/operations/refunds", query_string={"status": ""})  # warm up
    with count_queries() as two_rows:
        assert len(queue_codes(client.get("/operations/refunds", query_string={"status": ""}))) == 2
    monkeypatch.setitem(client.application.config, "PER_PAGE", 25)
    statuses = ["requested", "submitted", "received", "refunded", "rejected"]
    for i in range(23):
        booking = make.booking(order_number=f"RM{i:06d}", passengers=_passengers(3, 7, i))
        make.refund(booking, world.agent, status=statuses[i % 5], passengers=["P0", "P1", "P2"], by=world.ops)
        clock.advance(minutes=1)
    with count_queries() as full_page:
        assert len(queue_codes(client.get("/operations/refunds", query_string={"status": ""}))) == 25
    assert len(two_rows.statements) == len(full_page.statements), full_page.statements
    assert full_page.count <= 6, full_page.statements
