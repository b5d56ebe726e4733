"""Booking import through the service: atomic, updates on re-import, schedule changes recorded."""

import copy
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.domain.booking_import import ImportRejected
from portal.models import Booking, BookingSearchKey, ScheduleChange, Segment
from portal.services.bookings import import_bookings
from tests.conftest import booking_doc, passenger_doc

EXAMPLE = Path(__file__).resolve().parents[2] / "portal" / "demo_bookings.example.json"


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_example_file_imports_unchanged(db, make):
    make.account("DEMO", "SGD")
    shared = Path(__file__).resolve().parents[3] / "shared" / "booking-import.example.json"
    if shared.exists():
        assert shared.read_bytes() == EXAMPLE.read_bytes(), "portal's copy of the example drifted"
    result = import_bookings(EXAMPLE.read_bytes())
    db.session.commit()
    assert sorted(result.created) == ["AT26110001", "AT26110002"]
    booking = db.session.scalar(select(Booking).where(Booking.order_number == "AT26110002"))
    assert booking.payment_channel == "vcc_passthrough" and booking.airline.carrier_type == "LCC"
    assert [p.ptype for p in booking.passengers] == ["ADT", "INF"]
    assert booking.ancillaries[0].description == "Checked bag 20 kg"
    assert str(booking.passengers[0].refundable_taxes) == "41.20"


def test_a_file_with_one_bad_booking_imports_nothing(db, make):
    make.account("DEMO", "SGD")
    good = booking_doc("GOOD000001")
    bad = booking_doc("BAD0000001", passengers=[passenger_doc(ticket="618-2400000002")])
    bad["segments"][1]["departure"] = "2027-01-17 12:05"
    doc = {
        "format": "portal-bookings/1",
        "airlines": [{"code": "SQ", "name": "Singapore Airlines", "type": "FSC"}],
        "bookings": [good, bad],
    }
    with pytest.raises(ImportRejected) as caught:
        import_bookings(json.dumps(doc))
    db.session.rollback()
    assert caught.value.errors == [
        "bookings[1] (BAD0000001): segments[1].departure: not an ISO 8601 time with offset"
    ]
    assert count(db, Booking) == 0


def test_reimport_updates_and_records_schedule_changes(db, make):
    make.account("DEMO", "SGD")
    doc = booking_doc("AT10000001")
    make.import_bookings(doc)
    assert count(db, ScheduleChange) == 0

    make.import_bookings(copy.deepcopy(doc))  # the same file again: nothing changed
    assert count(db, ScheduleChange) == 0
    assert count(db, Booking) == 1

    changed = copy.deepcopy(doc)
    old_departure = doc["segments"][0]["departure"]
    for field in ("departure", "arrival"):  # the airline moved the first flight two hours later
        moved = datetime.fromisoformat(doc["segments"][0][field]) + timedelta(hours=2)
        changed["segments"][0][field] = moved.isoformat()
    changed["segments"][1]["status"] = "cancelled"
    changed["contact"]["phone"] = "+65 6999 0000"
    result = make.import_bookings(changed)
    assert result.updated == ["AT10000001"]
    changes = db.session.scalars(select(ScheduleChange).order_by(ScheduleChange.id)).all()
    assert [c.kind for c in changes] == ["time_changed", "cancelled"]
    assert changes[0].old_departure_local.isoformat() == old_departure
    assert changes[0].new_departure_local.isoformat() == changed["segments"][0]["departure"]
    booking = db.session.scalar(select(Booking))
    assert booking.action_required and booking.contact_phone == "+65 6999 0000"
    assert db.session.scalar(select(Segment.status).where(Segment.ref == "S2")) == "cancelled"


def test_search_keys_follow_the_passengers(db, make):
    make.account("DEMO", "SGD")
    doc = booking_doc("AT10000001")
    make.import_bookings(doc)
    keys = set(db.session.scalars(select(BookingSearchKey.key)))
    assert {"AT10000001", "K3X9QZ", "TAN", "WEIMING", "TANWEIMING", "6182400000001", "2400000001"} <= keys
    doc["passengers"][0]["last_name"] = "TEO"
    make.import_bookings(doc)
    keys = set(db.session.scalars(select(BookingSearchKey.key)))
    assert "TEO" in keys and "TAN" not in keys


def _file(*bookings):
    return json.dumps(
        {
            "format": "portal-bookings/1",
            "airlines": [{"code": "SQ", "name": "Singapore Airlines", "type": "FSC"}],
            "bookings": list(bookings),
        }
    )


def test_a_ticket_number_another_booking_holds_is_refused_naming_both(db, make):
    make.account("DEMO", "SGD")
    import_bookings(_file(booking_doc("AT50000001", passengers=[passenger_doc(ticket="618-2400005001")])))
    db.session.commit()
    thief = booking_doc("AT50000002", passengers=[passenger_doc(ticket="618-2400005001")])
    fine = booking_doc("AT50000003", passengers=[passenger_doc(ticket="618-2400005003")])
    with pytest.raises(ImportRejected) as caught:
        import_bookings(_file(fine, thief))
    db.session.rollback()
    assert caught.value.errors == [
        "bookings[1] (AT50000002): passengers[0].ticket_number: 618-2400005001 is already a ticket of "
        "booking AT50000001"
    ]
    assert sorted(db.session.scalars(select(Booking.order_number))) == ["AT50000001"]  # all or nothing
    # Re-importing the booking that holds the ticket is no duplicate.
    import_bookings(_file(booking_doc("AT50000001", passengers=[passenger_doc(ticket="618-2400005001")])))


def test_a_ticket_number_twice_in_one_file_names_both_bookings(db, make):
    make.account("DEMO", "SGD")
    first = booking_doc("AT50000011", passengers=[passenger_doc(ticket="618-2400005011")])
    second = booking_doc("AT50000012", passengers=[passenger_doc(ticket="618-2400005011")])
    with pytest.raises(ImportRejected) as caught:
        import_bookings(_file(first, second))
    db.session.rollback()
    assert caught.value.errors == [
        "bookings[1] (AT50000012): passengers[0].ticket_number: 618-2400005011 appears twice in this file "
        "(also bookings[0] (AT50000011) passengers[0])"
    ]
    assert count(db, Booking) == 0
