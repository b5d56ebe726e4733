"""Review of issue 13: what refunds make of a booking stays right when a re-import changes the booking
(a segment added) or its airline (FSC becomes LCC)."""

import copy

from sqlalchemy import select

from portal.models import Booking
from tests.conftest import AIRLINES, booking_doc


def _state(db, order_number):
    db.session.expire_all()
    return db.session.scalar(select(Booking.refund_state).where(Booking.order_number == order_number))


def test_a_segment_added_by_a_reimport_makes_a_refunded_booking_partly_refunded(make, world, db):
    doc = booking_doc(order_number="AT10000077", account="DEMO")
    one_segment = copy.deepcopy(doc)
    one_segment["segments"] = one_segment["segments"][:1]
    make.import_bookings(one_segment)
    booking = db.session.scalar(select(Booking).where(Booking.order_number == "AT10000077"))
    make.refund(booking, world.agent)
    assert _state(db, "AT10000077") == "refunded"
    make.import_bookings(doc)  # the airline's file now has a second segment
    assert _state(db, "AT10000077") == "partly_refunded"


def test_an_airline_that_becomes_low_cost_cancels_its_wholly_refunded_bookings(make, world, db):
    make.refund(world.booking, world.agent)  # FSC, Refund button, every coupon
    assert _state(db, "AT10000001") == "refunded"
    airlines = copy.deepcopy(AIRLINES)
    airlines[0]["type"] = "LCC"
    make.import_bookings(booking_doc(order_number="AT10000001", account="DEMO"), airlines=airlines)
    assert _state(db, "AT10000001") == "cancelled"
