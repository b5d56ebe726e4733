"""Booking Details: facts, passengers, segments in local time, tabs, the 24-hour notice."""

from datetime import timedelta

import pytest

from portal.clock import utcnow
from tests.conftest import passenger_doc


def test_details_show_everything_the_agent_needs(client, auth, world):
    auth.login(world.agent)
    page = client.get("/bookings/at10000001").get_data(as_text=True)  # order numbers are case-insensitive
    for text in (
        "AT10000001",
        "K3X9QZ",
        "Singapore Airlines",
        "Deposit",
        "TAN/WEI MING MR",
        "618-2400000001",
        "420.00",
        "85.50",
        "60.00",
        "cancellation fee SGD 150.00",
        "SQ978",
        "SIN",
        "BKK",
        "(UTC+08:00)",
        "bookings@demo-travel.example",
        "Refund Info",
        "Request History",
    ):
        assert text in page, text
    assert 'aria-selected="true">Details</a>' in page


@pytest.mark.parametrize(
    ("path", "selected", "text"),
    [
        ("/refund-info", "Refund Info", "No refunds for this booking yet."),
        ("/request-history", "Request History", "No requests for this booking yet."),
    ],
)
def test_tabs_are_real_urls_and_htmx_partials(client, auth, world, path, selected, text):
    auth.login(world.agent)
    full = client.get(f"/bookings/AT10000001{path}").get_data(as_text=True)
    assert f'aria-selected="true">{selected}</a>' in full and text in full and "<header" in full
    partial = client.get(f"/bookings/AT10000001{path}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert text in partial and "<header" not in partial and "Order number" not in partial
    assert f'aria-selected="true">{selected}</a>' in partial


def test_segments_show_local_airport_times(client, auth, make, world):
    make.booking(
        order_number="TZ00000001",
        segments=[
            {
                "ref": "S1",
                "flight_number": "SQ318",
                "origin": "SIN",
                "destination": "LHR",
                "departure": "2027-03-01T23:35:00+08:00",
                "arrival": "2027-03-02T06:15:00+00:00",
                "cabin": "J",
                "status": "confirmed",
            }
        ],
    )
    auth.login(world.agent)
    page = client.get("/bookings/TZ00000001").get_data(as_text=True)
    assert "01 Mar 2027 23:35 (UTC+08:00)" in page
    assert "02 Mar 2027 06:15 (UTC+00:00)" in page


def test_notice_when_a_segment_departs_within_24_hours(client, auth, make, world):
    make.booking(order_number="SOON000001", departure=utcnow() + timedelta(hours=20))
    auth.login(world.agent)
    soon = client.get("/bookings/SOON000001").get_data(as_text=True)
    assert "Departs within 24 hours" in soon
    assert 'href="https://www.singaporeair.com/manage-booking"' in soon
    later = client.get("/bookings/AT10000001").get_data(as_text=True)
    assert "Departs within 24 hours" not in later


def test_no_notice_for_a_flown_or_cancelled_booking(client, auth, make, world):
    make.booking(order_number="FLOWN00001", departure=utcnow() - timedelta(hours=3))
    make.booking(order_number="CANX000001", departure=utcnow() + timedelta(hours=5), status="cancelled")
    auth.login(world.agent)
    flown = client.get("/bookings/FLOWN00001").get_data(as_text=True)
    assert "Departs within 24 hours" not in flown and "Flown" in flown
    assert "Departs within 24 hours" not in client.get("/bookings/CANX000001").get_data(as_text=True)


def test_unknown_order_number_is_404(client, auth, world):
    auth.login(world.agent)
    assert client.get("/bookings/NOSUCH0001").status_code == 404
    assert client.get("/bookings/<script>").status_code == 404


def test_query_count_is_fixed_whatever_the_booking_size(client, auth, make, world, count_queries):
    passengers = [
        passenger_doc(f"P{i}", "BIG", f"PAX {chr(65 + i)}", f"618-27000000{i:02d}") for i in range(9)
    ]
    segments = [
        {
            "ref": f"S{i}",
            "flight_number": f"SQ{100 + i}",
            "origin": "SIN",
            "destination": "BKK",
            "departure": f"2027-04-{10 + i:02d}T09:00:00+08:00",
            "arrival": f"2027-04-{10 + i:02d}T10:30:00+07:00",
            "cabin": "Y",
            "status": "confirmed",
        }
        for i in range(6)
    ]
    make.booking(order_number="BIG0000001", passengers=passengers, segments=segments)
    auth.login(world.agent)
    client.get("/bookings/AT10000001")
    with count_queries() as small:
        client.get("/bookings/AT10000001")
    with count_queries() as big:
        client.get("/bookings/BIG0000001")
    assert small.count == big.count <= 10, big.statements


SLIDEOUTS = {
    "Refund": "/bookings/SOON000001/refund",
    "Raise a Request": "/bookings/SOON000001/raise-request",
    "Add Baggage": "/bookings/SOON000001/baggage",
}


@pytest.mark.parametrize("slideout", SLIDEOUTS)
def test_the_24_hour_notice_is_inside_the_slideouts_of_such_a_booking(client, auth, make, world, slideout):
    """An agent who opens Refund, Raise a Request or Add Baggage at once still reads the FAQ's advice."""
    make.booking(order_number="SOON000001", departure=utcnow() + timedelta(hours=20))
    auth.login(world.agent)
    response = client.get(SLIDEOUTS[slideout], headers={"HX-Request": "true"})
    partial = response.get_data(as_text=True)
    assert response.status_code == 200 and "<header" not in partial  # the slide-out alone, as htmx gets it
    assert "Departs within 24 hours" in partial
    assert 'href="https://www.singaporeair.com/manage-booking"' in partial and "Manage My Booking" in partial


@pytest.mark.parametrize("slideout", SLIDEOUTS)
def test_no_24_hour_notice_in_the_slideouts_of_a_later_booking(client, auth, world, slideout):
    auth.login(world.agent)
    url = SLIDEOUTS[slideout].replace("SOON000001", "AT10000001")
    partial = client.get(url, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "Departs within 24 hours" not in partial.get_data(as_text=True)
