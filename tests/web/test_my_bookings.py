"""My Bookings: search, filters, pagination, htmx partials, fixed query count."""

import copy
import html
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from portal.clock import utcnow
from portal.models import Booking
from portal.models.bookings import local_time, route_of
from tests.conftest import booking_doc, passenger_doc, portal_today, rescheduled


@pytest.fixture
def bookings(make, world):
    """Three more DEMO bookings with distinct passengers, channels and departures."""
    now = utcnow()
    make.booking(
        order_number="AT10000002",
        passengers=[passenger_doc("P1", "NAIR", "ARJUN", "668-2400000101")],
        airline="TR",
        payment_channel="vcc_passthrough",
        departure=now + timedelta(days=60),
        pnr="TRX4P2",
    )
    make.booking(
        order_number="AT10000003",
        passengers=[passenger_doc("P1", "WONG", "KAR WAI", "618-2400000201")],
        payment_channel="vcc",
        departure=now + timedelta(days=10),
        pnr="WKW123",
    )
    make.booking(
        order_number="AT10000004",
        passengers=[passenger_doc("P1", "ONG", "BEE LIAN", "618-2400000301")],
        status="cancelled",
        departure=now + timedelta(days=12),
        pnr="ONGBL9",
    )
    return world


def orders_in(response) -> set[str]:
    page = response.get_data(as_text=True)
    return {
        o
        for o in ("AT10000001", "AT10000002", "AT10000003", "AT10000004", "OT20000001")
        if f">{o}</a>" in page
    }


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("AT10000002", {"AT10000002"}),
        ("at1000000", {"AT10000001", "AT10000002", "AT10000003", "AT10000004"}),
        ("TRX4P2", {"AT10000002"}),
        ("trx4", {"AT10000002"}),
        ("nair", {"AT10000002"}),
        ("Arjun", {"AT10000002"}),
        ("WONG KAR", {"AT10000003"}),
        ("kar wai", {"AT10000003"}),
        ("618-2400000201", {"AT10000003"}),
        ("2400000201", {"AT10000003"}),
        ("LIM", set()),  # the other account's passenger
        ("OT2000", set()),
        ("zzz", set()),
    ],
)
def test_search(client, auth, bookings, q, expected):
    auth.login(bookings.agent)
    assert orders_in(client.get("/bookings/", query_string={"q": q})) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"payment_channel": "vcc"}, {"AT10000003"}),
        ({"payment_channel": "vcc_passthrough"}, {"AT10000002"}),
        ({"status": "cancelled"}, {"AT10000004"}),
        ({"status": "ticketed", "payment_channel": "deposit"}, {"AT10000001"}),
    ],
)
def test_filters(client, auth, bookings, args, expected):
    auth.login(bookings.agent)
    assert orders_in(client.get("/bookings/", query_string=args)) == expected


def test_departure_date_range(client, auth, bookings):
    auth.login(bookings.agent)
    today = portal_today()
    args = {
        "departure_from": (today + timedelta(days=9)).isoformat(),
        "departure_to": (today + timedelta(days=13)).isoformat(),
    }
    assert orders_in(client.get("/bookings/", query_string=args)) == {"AT10000003", "AT10000004"}


def test_bad_filter_input_gets_a_message_and_keeps_the_rest(client, auth, bookings):
    auth.login(bookings.agent)
    response = client.get(
        "/bookings/", query_string={"departure_from": "31/02/2027", "payment_channel": "vcc"}
    )
    assert response.status_code == 200
    assert "Not a valid date value" in response.get_data(as_text=True)
    assert orders_in(response) == {"AT10000003"}
    reversed_range = client.get(
        "/bookings/", query_string={"departure_from": "2027-02-01", "departure_to": "2027-01-01"}
    )
    assert "The end date is before the start date." in reversed_range.get_data(as_text=True)
    unknown_choice = client.get("/bookings/", query_string={"status": "bogus"})
    assert unknown_choice.status_code == 200 and "Not a valid choice" in unknown_choice.get_data(as_text=True)
    assert client.get("/bookings/", query_string={"page": "-3"}).status_code == 200
    assert client.get("/bookings/", query_string={"page": "abc"}).status_code == 200


def test_staff_see_all_accounts_and_can_filter_by_account(client, auth, bookings):
    auth.login(bookings.ops)
    assert orders_in(client.get("/bookings/")) == {
        "AT10000001",
        "AT10000002",
        "AT10000003",
        "AT10000004",
        "OT20000001",
    }
    assert orders_in(client.get("/bookings/", query_string={"account": bookings.other.id})) == {"OT20000001"}
    assert orders_in(client.get("/bookings/", query_string={"q": "LIM"})) == {"OT20000001"}


def test_agent_cannot_widen_scope_with_the_account_filter(client, auth, bookings):
    auth.login(bookings.agent)
    assert "OT20000001" not in orders_in(
        client.get("/bookings/", query_string={"account": bookings.other.id})
    )


def test_pagination(app, client, auth, make, world):
    for n in range(30):
        make.booking(
            order_number=f"PG{n:08d}", passengers=[passenger_doc("P1", "PAGE", "TEST", f"618-25{n:08d}")]
        )
    auth.login(world.agent)
    first = client.get("/bookings/", query_string={"q": "PAGE"}).get_data(as_text=True)
    assert "Showing 1–25 of 30 bookings" in first and "Page 1 of 2" in first
    second = client.get("/bookings/", query_string={"q": "PAGE", "page": 2}).get_data(as_text=True)
    assert "Showing 26–30 of 30 bookings" in second
    assert "q=PAGE" in second.split('rel="prev"')[0].rsplit("href=", 1)[1]  # links keep the search
    beyond = client.get("/bookings/", query_string={"q": "PAGE", "page": 99}).get_data(as_text=True)
    assert "Page 2 of 2" in beyond


def test_htmx_request_renders_only_the_results(client, auth, bookings):
    auth.login(bookings.agent)
    full = client.get("/bookings/", query_string={"q": "nair"})
    partial = client.get("/bookings/", query_string={"q": "nair"}, headers={"HX-Request": "true"})
    assert "<header" in full.get_data(as_text=True)
    body = partial.get_data(as_text=True)
    assert "<header" not in body and "<form" not in body
    assert ">AT10000002</a>" in body
    for response in (full, partial):
        assert "HX-Request" in response.headers["Vary"]


@pytest.mark.parametrize("header", ["HX-Boosted", "HX-History-Restore-Request"])
def test_boosted_and_history_restore_get_the_whole_page(client, auth, bookings, header):
    auth.login(bookings.agent)
    response = client.get("/bookings/", headers={"HX-Request": "true", header: "true"})
    assert "<header" in response.get_data(as_text=True)


def test_query_count_does_not_grow_with_data(client, auth, make, world, count_queries):
    auth.login(world.agent)
    client.get("/bookings/")  # warm up
    with count_queries() as few:
        client.get("/bookings/")
    searched_few = None
    for n in range(12):
        passengers = [
            passenger_doc(f"P{i}", "MANY", f"PAX {chr(65 + i)}", f"618-26{n:04d}{i:04d}") for i in range(4)
        ]
        make.booking(order_number=f"QC{n:08d}", passengers=passengers)
        if n == 0:
            with count_queries() as searched_few:
                client.get("/bookings/", query_string={"q": "MANY", "payment_channel": "deposit"})
    with count_queries() as many:
        client.get("/bookings/")
    with count_queries() as searched:
        client.get("/bookings/", query_string={"q": "MANY", "payment_channel": "deposit"})
    assert few.count == many.count, many.statements
    assert searched_few.count == searched.count, searched.statements
    # A search reads its term's keys first (which plan, and a rare term's bookings): one query more.
    assert searched.count <= many.count + 1, searched.statements
    # The user, the header's bell and balance (one query), the badge, the page's rows: what a row shows of
    # its segments and passengers is on the booking (no query for them), and a page that ends the list
    # needs no count.
    assert many.count <= 4, many.statements


def test_counts_stop_at_a_cap_on_huge_lists(client, auth, make, world, monkeypatch):
    from portal.services import bookings as bookings_service

    for n in range(4):
        make.booking(
            order_number=f"CAP0000{n:03d}", passengers=[passenger_doc("P1", "CAP", "TEST", f"618-28{n:08d}")]
        )
    monkeypatch.setattr(bookings_service, "LIST_COUNT_CAP", 3)
    monkeypatch.setitem(client.application.config, "PER_PAGE", 2)
    auth.login(world.agent)
    page = client.get("/bookings/").get_data(as_text=True)
    assert "Showing 1–2 of 3+ bookings" in page and "Page 1 of 2+" in page
    exact = client.get("/bookings/", query_string={"q": "CAP0000001"}).get_data(as_text=True)
    assert "Showing 1–1 of 1 booking" in exact


def row_of(response, order_number: str) -> list[str]:
    """The cells of My Bookings' row of this order, as text."""
    page = response.get_data(as_text=True)
    row = re.search(rf"<tr>\s*<td><a href=\"[^\"]*\">{order_number}</a>.*?</tr>", page, re.S).group(0)
    return [
        " ".join(html.unescape(re.sub(r"<[^>]+>", " ", cell)).split())
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def shown(client, order_number: str) -> tuple[str, str, str]:
    """Route, departure and passengers as My Bookings' row shows them (an agent's columns)."""
    cells = row_of(client.get("/bookings/", query_string={"q": order_number}), order_number)
    return cells[3], cells[4], cells[5]


def summary_agrees_with_content(db, order_number: str) -> Booking:
    """The booking's kept row summary is what its segments and passengers say now."""
    db.session.expire_all()
    booking = db.session.scalar(select(Booking).where(Booking.order_number == order_number))
    first, lead = booking.segments[0], booking.passengers[0]
    assert booking.route == route_of([(s.origin, s.destination) for s in booking.segments])
    assert (booking.first_departure_at, booking.first_departure_offset) == (
        first.departure_at,
        first.departure_offset,
    )
    assert booking.lead_passenger == f"{lead.last_name}/{lead.first_name}"
    assert booking.passenger_count == len(booking.passengers)
    return booking


def when(moment: str) -> str:
    """A file's departure as My Bookings shows it: local time at the origin."""
    return datetime.fromisoformat(moment).strftime("%d %b %Y %H:%M")


def test_a_row_shows_the_routes_departure_and_passengers_each_import_gives(client, auth, make, world, db):
    """The row reads the summary the import keeps on the booking (issue 14): a new booking, a re-import
    that moves a flight and changes the route, and one that changes the passengers each show at once, and
    the summary always agrees with the segments and passengers the booking holds."""
    auth.login(world.agent)
    doc = booking_doc("AT70000001", passengers=[passenger_doc("P1", "TAN", "WEI MING", "618-2400070001")])
    make.import_bookings(doc)
    assert shown(client, "AT70000001") == (
        "SIN–BKK–SIN",
        when(doc["segments"][0]["departure"]),
        "TAN/WEI MING",
    )
    summary_agrees_with_content(db, "AT70000001")

    # The airline moves the first flight three hours later and the return now ends in Kuala Lumpur, with a
    # connection home: a schedule change, a new route.
    moved = rescheduled(doc, segment=0, hours=3)
    moved["segments"][1]["destination"] = "KUL"
    back = datetime.fromisoformat(moved["segments"][1]["arrival"]) + timedelta(hours=3)
    moved["segments"].append(
        {
            **moved["segments"][1],
            "ref": "S3",
            "flight_number": "SQ107",
            "origin": "KUL",
            "destination": "SIN",
            "departure": back.isoformat(),
            "arrival": (back + timedelta(hours=1)).isoformat(),
        }
    )
    result = make.import_bookings(moved)
    assert [c.segment_ref for c in result.schedule_changes] == ["S1"]
    departure = moved["segments"][0]["departure"]
    assert departure != doc["segments"][0]["departure"]
    assert shown(client, "AT70000001") == ("SIN–BKK–KUL–SIN", when(departure), "TAN/WEI MING")
    booking = summary_agrees_with_content(db, "AT70000001")
    assert local_time(booking.first_departure_at, booking.first_departure_offset).isoformat() == departure

    # Two passengers join and the file now lists one of them first: a new lead, and "+2".
    people = copy.deepcopy(moved)
    people["passengers"] = [
        passenger_doc("P3", "LIM", "HUI LING", "618-2400070003"),
        *people["passengers"],
        passenger_doc("P2", "TAN", "MEI", "618-2400070002", ptype="CHD"),
    ]
    make.import_bookings(people)
    assert shown(client, "AT70000001") == ("SIN–BKK–KUL–SIN", when(departure), "LIM/HUI LING +2")
    assert summary_agrees_with_content(db, "AT70000001").passenger_count == 3
