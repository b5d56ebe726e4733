"""Issue 16: a re-import skips a booking whose stored content digest matches the file's, without loading
it, and writes nothing at all for an unchanged file (also on PostgreSQL, where new rows go by COPY, which
SQLAlchemy's statement events do not see: so the database itself is asked whether anything was written).
The digest covers exactly what the comparison does: any covered field changed in the file is found."""

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text, update

from portal.models import Ancillary, Booking, Passenger, Segment
from portal.services import bookings as service
from portal.services.bookings import import_bookings
from tests.conftest import AIRLINES, POSTGRES, QueryCounter, booking_doc, passenger_doc

NUMBERS = [f"AT5000000{i}" for i in range(1, 6)]


def _file(docs) -> bytes:
    return json.dumps({"format": "portal-bookings/1", "airlines": AIRLINES, "bookings": docs}).encode()


def _docs():
    docs = [booking_doc(n) for n in NUMBERS]
    docs[0]["ancillaries"] = [
        {
            "passenger": "P1",
            "segment": "S1",
            "type": "baggage",
            "description": "Extra 10 kg",
            "price": "95.00",
        }
    ]
    docs[1]["passengers"].append(passenger_doc("P2", "LIM", "HUI LING", "618-2400050002", ptype="CHD"))
    return docs


def _database_wrote(db) -> bool:
    """Whether this transaction has written anything, as the database itself counts it."""
    if POSTGRES:
        return db.session.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL"))
    return db.session.scalar(text("SELECT total_changes()")) != _database_wrote.baseline


def _mark(db) -> None:
    if not POSTGRES:
        _database_wrote.baseline = db.session.scalar(text("SELECT total_changes()"))


@pytest.fixture
def imported(db, make, monkeypatch):
    monkeypatch.setattr(service, "CHUNK", 2)
    make.account("DEMO", "SGD")
    docs = _docs()
    import_bookings(_file(docs))
    db.session.commit()
    return docs


def _loads_in_full(monkeypatch) -> list[int]:
    """The ids of the bookings the import compares in full (reads their content)."""
    asked: list[int] = []
    real = service._stored

    def spy(ids):
        asked.extend(ids)
        return real(ids)

    monkeypatch.setattr(service, "_stored", spy)
    return asked


def test_an_unchanged_reimport_writes_nothing_as_the_database_counts_it(db, imported, monkeypatch):
    asked = _loads_in_full(monkeypatch)
    _mark(db)
    with QueryCounter(db.engine) as queries:
        result = import_bookings(_file(imported))
        db.session.flush()
    assert result.updated == NUMBERS and result.schedule_changes == []
    assert asked == []  # every booking skipped on its digest
    assert not _database_wrote(db)
    writes = [s for s in queries.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


def test_the_database_counts_a_write_as_one(db, imported):
    """The check above can fail: a new booking in the file is a write the database counts."""
    _mark(db)
    import_bookings(_file([*imported, booking_doc("AT50000009")]))
    db.session.flush()
    assert _database_wrote(db)


def _change(docs, where: str):
    """A copy of the file with one field the digest covers changed, in booking 0 or 1."""
    docs = copy.deepcopy(docs)
    first, second = docs[0], docs[1]
    match where:
        case "booking.contact_phone":
            first["contact"]["phone"] = "+65 6999 0000"
        case "booking.status":
            first["status"] = "cancelled"
        case "passenger.first_name":
            second["passengers"][1]["first_name"] = "HUI MIN"
        case "passenger.fare":
            second["passengers"][1]["fare"]["base"] = "421.00"
        case "passenger.fare_rule":
            second["passengers"][0]["fare_rule"]["changeable"] = False
        case "passenger.order":
            second["passengers"].reverse()
        case "segment.cabin":
            first["segments"][1]["cabin"] = "J"
        case "segment.offset":  # the same instants at another offset: the offset columns differ
            seg = first["segments"][0]
            for name in ("departure", "arrival"):
                seg[name] = (
                    datetime.fromisoformat(seg[name]).astimezone(timezone(timedelta(hours=7))).isoformat()
                )
        case "ancillary.description":
            first["ancillaries"][0]["description"] = "Extra 15 kg"
        case "ancillary.removed":
            first["ancillaries"] = []
        case "passenger.added":
            first["passengers"].append(passenger_doc("P2", "TAN", "MEI", "618-2400050009"))
    return docs


COVERED = [
    "booking.contact_phone",
    "booking.status",
    "passenger.first_name",
    "passenger.fare",
    "passenger.fare_rule",
    "passenger.order",
    "segment.cabin",
    "segment.offset",
    "ancillary.description",
    "ancillary.removed",
    "passenger.added",
]


@pytest.mark.parametrize("where", COVERED)
def test_a_changed_field_the_digest_covers_is_found_and_written(db, imported, monkeypatch, where):
    asked = _loads_in_full(monkeypatch)
    before = dict(db.session.execute(select(Booking.order_number, Booking.import_digest)).all())
    changed = _change(imported, where)
    import_bookings(_file(changed))
    db.session.commit()
    touched = (
        NUMBERS[1]
        if where.startswith(("passenger.first_name", "passenger.fare", "passenger.order"))
        else NUMBERS[0]
    )
    booking_id = db.session.scalar(select(Booking.id).where(Booking.order_number == touched))
    assert asked == [booking_id]  # only the changed booking is read in full
    after = dict(db.session.execute(select(Booking.order_number, Booking.import_digest)).all())
    assert [n for n in NUMBERS if after[n] != before[n]] == [touched]
    # And the file's content is what the database holds now: importing it again skips everything.
    asked.clear()
    import_bookings(_file(changed))
    assert asked == []


def test_a_booking_without_a_digest_is_compared_once_and_given_one(db, imported, monkeypatch):
    """Bookings imported before the digest existed (NULL) go the long way once; nothing else is written."""
    db.session.execute(update(Booking).where(Booking.order_number == NUMBERS[2]).values(import_digest=None))
    db.session.commit()
    asked = _loads_in_full(monkeypatch)
    updated_at = dict(db.session.execute(select(Booking.order_number, Booking.updated_at)).all())
    import_bookings(_file(imported))
    db.session.commit()
    booking = db.session.scalar(select(Booking).where(Booking.order_number == NUMBERS[2]))
    assert asked == [booking.id] and booking.import_digest is not None
    assert dict(db.session.execute(select(Booking.order_number, Booking.updated_at)).all()) == updated_at
    asked.clear()
    import_bookings(_file(imported))
    assert asked == []


@pytest.mark.parametrize("model", [Booking, Passenger, Segment, Ancillary])
def test_a_change_through_the_orm_outside_the_import_forgets_the_digest(db, imported, model):
    """What the import would overwrite, changed elsewhere: the next re-import compares the booking in
    full and writes the file's content back, as it did before the digest."""
    booking = db.session.scalar(select(Booking).where(Booking.order_number == NUMBERS[0]))
    row = (
        booking
        if model is Booking
        else db.session.scalar(select(model).where(model.booking_id == booking.id))
    )
    field, value = {
        Booking: ("contact_email", "someone@else.example"),
        Passenger: ("last_name", "TEO"),
        Segment: ("cabin", "F"),
        Ancillary: ("description", "Extra 99 kg"),
    }[model]
    setattr(row, field, value)
    db.session.commit()
    assert booking.import_digest is None
    import_bookings(_file(imported))
    db.session.commit()
    db.session.expire_all()
    key = Booking.id if model is Booking else model.booking_id
    assert value not in db.session.scalars(select(getattr(model, field)).where(key == booking.id)).all()
    assert booking.import_digest is not None
