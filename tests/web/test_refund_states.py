"""What refunds make of a booking on Booking Details and My Bookings (issue 13, item 4).

For a low-cost carrier cancelling is refunding: a live operator refund of every passenger on a segment
shows that segment Cancelled, and of the whole booking shows the booking Cancelled. Partly refunded
bookings say so for every carrier; a rejected refund gives the coupons back.
"""

import re

import pytest

from portal.models import Booking
from tests.conftest import passenger_doc


def two(prefix: str) -> list[dict]:
    """Two passengers with ticket numbers of their own (an import refuses a ticket another booking has)."""
    return [
        passenger_doc("P1", "TAN", "WEI MING", f"618-{prefix}01"),
        passenger_doc("P2", "TAN", "MEI", f"618-{prefix}02"),
    ]


def segment_statuses(page: str) -> list[str]:
    section = page.split("<h2>Segments</h2>", 1)[1].split("<h2>Ancillaries</h2>", 1)[0]
    return re.findall(r'<span class="status status-\w+">([^<]+)</span>', section)


def booking_status(page: str) -> str:
    return re.search(r"<dt>Status</dt><dd><span class=\"status status-\w+\">([^<]+)</span>", page).group(1)


def listed_status(page: str, order_number: str) -> str:
    row = page.split(f">{order_number}</a>", 1)[1].split("</tr>", 1)[0]
    return re.search(r'<span class="status status-\w+">([^<]+)</span>', row).group(1)


@pytest.fixture
def lcc(make, world):
    return make.booking(order_number="AT30000001", airline="TR", passengers=two("30000001"))


@pytest.fixture
def fsc(make, world):
    return make.booking(order_number="AT30000002", airline="SQ", passengers=two("30000002"))


def test_an_lcc_operator_refund_of_everyone_cancels_segments_and_booking(client, auth, world, make, lcc):
    auth.login(world.agent)
    page = client.get("/bookings/AT30000001").get_data(as_text=True)
    assert segment_statuses(page) == ["Confirmed", "Confirmed"]
    assert booking_status(page) == "Ticketed"

    make.refund(lcc, world.agent, passengers=["P1", "P2"])

    page = client.get("/bookings/AT30000001").get_data(as_text=True)
    assert segment_statuses(page) == ["Cancelled", "Cancelled"]
    assert booking_status(page) == "Cancelled"
    listed = client.get("/bookings/").get_data(as_text=True)
    assert listed_status(listed, "AT30000001") == "Cancelled"
    # The booking's own status is not touched: the coupon rules still see a ticketed booking.
    assert lcc.status == "ticketed"


def test_an_lcc_segment_is_cancelled_only_when_every_passenger_on_it_is(client, auth, world, make, lcc):
    make.refund(lcc, world.agent, coupons=["P1.S2", "P2.S2"])
    auth.login(world.agent)
    page = client.get("/bookings/AT30000001").get_data(as_text=True)
    assert segment_statuses(page) == ["Confirmed", "Cancelled"]
    assert booking_status(page) == "Partly refunded"

    make.refund(lcc, world.agent, coupons=["P1.S1"])
    page = client.get("/bookings/AT30000001").get_data(as_text=True)
    assert segment_statuses(page) == ["Confirmed", "Cancelled"]
    assert listed_status(client.get("/bookings/").get_data(as_text=True), "AT30000001") == "Partly refunded"


def test_a_fully_refunded_fsc_booking_shows_refunded_and_keeps_its_segments(client, auth, world, make, fsc):
    make.refund(fsc, world.agent, passengers=["P1"])
    auth.login(world.agent)
    assert listed_status(client.get("/bookings/").get_data(as_text=True), "AT30000002") == "Partly refunded"
    make.refund(fsc, world.agent, passengers=["P2"])
    page = client.get("/bookings/AT30000002").get_data(as_text=True)
    assert segment_statuses(page) == ["Confirmed", "Confirmed"]
    assert booking_status(page) == "Refunded"
    assert listed_status(client.get("/bookings/").get_data(as_text=True), "AT30000002") == "Refunded"


def test_a_rejected_refund_gives_the_coupons_back(client, auth, world, make, lcc):
    refund = make.refund(lcc, world.agent, passengers=["P1", "P2"])
    from portal.services.refunds import apply_action

    apply_action(refund, "reject", user=world.ops, reason="The airline refused.")
    make.db.session.commit()
    auth.login(world.agent)
    page = client.get("/bookings/AT30000001").get_data(as_text=True)
    assert segment_statuses(page) == ["Confirmed", "Confirmed"]
    assert booking_status(page) == "Ticketed"
    assert listed_status(client.get("/bookings/").get_data(as_text=True), "AT30000001") == "Ticketed"


def test_the_status_filter_counts_an_lcc_booking_refunded_whole_as_cancelled(client, auth, world, make, lcc):
    make.refund(lcc, world.agent, passengers=["P1", "P2"])
    auth.login(world.agent)
    cancelled = client.get("/bookings/?status=cancelled").get_data(as_text=True)
    ticketed = client.get("/bookings/?status=ticketed").get_data(as_text=True)
    assert ">AT30000001</a>" in cancelled and ">AT10000001</a>" not in cancelled
    assert ">AT30000001</a>" not in ticketed and ">AT10000001</a>" in ticketed


def test_my_bookings_reads_the_state_without_a_query_per_row(client, auth, world, make, db, count_queries):
    for n in range(3):
        booking = make.booking(order_number=f"AT4000000{n}", airline="TR")
        make.refund(booking, world.agent)
    auth.login(world.agent)
    with count_queries() as few:
        client.get("/bookings/")
    for n in range(3, 9):
        booking = make.booking(order_number=f"AT4000000{n}", airline="TR")
        make.refund(booking, world.agent)
    with count_queries() as many:
        page = client.get("/bookings/").get_data(as_text=True)
    assert many.count == few.count
    assert listed_status(page, "AT40000008") == "Cancelled"
    assert db.session.get(Booking, booking.id).refund_state == "cancelled"
