"""Issue 16: new bookings go in through a bulk writer (COPY on PostgreSQL, the driver's executemany on
SQLite), past SQLAlchemy's insert. What it writes must read back through the ORM exactly as the ORM
would have written it, the same on both databases, and it must stay inside the import's transaction."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from portal.domain.booking_import import ImportRejected
from portal.models import Ancillary, Booking, BookingSearchKey, Passenger, ScheduleChange, Segment
from portal.services import bookings as service
from portal.services.bookings import import_bookings
from tests.conftest import AIRLINES, booking_doc, passenger_doc


def _file(*bookings) -> bytes:
    return json.dumps(
        {"format": "portal-bookings/1", "airlines": AIRLINES, "bookings": list(bookings)}
    ).encode()


def _rich_booking(order_number="AT40000001") -> dict:
    """Two passengers (amounts with and without cents), three segments in three zones, ancillaries."""
    doc = booking_doc(
        order_number,
        passengers=[
            passenger_doc("P1", "TAN", "WEI MING", "618-2400040001"),
            passenger_doc(
                "P2",
                "TAN",
                "MEI",
                "618-2400040002",
                ptype="CHD",
                base="315",
                taxes="0.5",
                refundable_taxes="0",
                refundable=False,
                cancellation_fee="0",
            ),
        ],
        segments=[
            {
                "ref": "S1",
                "flight_number": "SQ978",
                "origin": "SIN",
                "destination": "BKK",
                "departure": "2026-07-20T23:55:00+08:00",
                "arrival": "2026-07-21T01:20:00+07:00",
                "cabin": "Y",
                "status": "confirmed",
            },
            {
                "ref": "S2",
                "flight_number": "SQ62",
                "origin": "BKK",
                "destination": "GRU",
                "departure": "2026-07-25T10:00:00+07:00",
                "arrival": "2026-07-26T06:30:00-03:00",
                "cabin": "J",
                "status": "cancelled",
            },
            {
                "ref": "S3",
                "flight_number": "SQ63",
                "origin": "GRU",
                "destination": "SIN",
                "departure": "2026-08-02T21:15:00-03:00",
                "arrival": "2026-08-04T05:45:00+08:00",
                "cabin": "J",
                "status": "confirmed",
            },
        ],
        payment_channel="vcc",
        issued_at="2026-06-12T09:30:15+08:00",
    )
    doc["ancillaries"] = [
        {
            "passenger": "P2",
            "segment": "S1",
            "type": "baggage",
            "description": "Extra 10 kg",
            "price": "95.5",
        },
        {
            "passenger": "P1",
            "segment": "S3",
            "type": "baggage",
            "description": "Extra 20 kg",
            "price": "0",
        },
    ]
    return doc


def _read_back(db, order_number: str) -> dict:
    """Every column of the booking and its rows as the ORM reads them, with Python types, ids by ref."""
    db.session.expire_all()
    booking = db.session.scalar(select(Booking).where(Booking.order_number == order_number))

    def columns(obj, skip=()):
        return {
            c.key: (getattr(obj, c.key), type(getattr(obj, c.key)).__name__)
            for c in obj.__table__.columns
            if c.key not in ("id", "booking_id", *skip)
        }

    passenger_refs = {p.id: p.ref for p in booking.passengers}
    segment_refs = {s.id: s.ref for s in booking.segments}
    return {
        "booking": columns(booking, ("account_id", "airline_id")),
        "account": booking.account.code,
        "airline": booking.airline.code,
        "passengers": [columns(p) for p in sorted(booking.passengers, key=lambda p: p.position)],
        "segments": [columns(s) for s in sorted(booking.segments, key=lambda s: s.position)],
        "ancillaries": [
            (
                passenger_refs[a.passenger_id],
                segment_refs[a.segment_id],
                columns(a, ("passenger_id", "segment_id")),
            )
            for a in sorted(booking.ancillaries, key=lambda a: a.id)
        ],
        "keys": sorted(
            (k.key, k.account_id == booking.account_id)
            for k in db.session.scalars(
                select(BookingSearchKey).where(BookingSearchKey.booking_id == booking.id)
            )
        ),
    }


def _utc(*args):
    return (datetime(*args, tzinfo=UTC), "datetime")


def _money(text):
    return (Decimal(text), "Decimal")


def test_a_bulk_written_booking_reads_back_as_the_orm_writes_it_on_either_database(clock, db, make):
    """The same literal expectations on SQLite and on PostgreSQL: a booking COPYed on PostgreSQL equals one
    written by executemany on SQLite field by field, with the ORM's types (Decimal to the cent, aware UTC
    times, dates, booleans)."""
    make.account("DEMO", "SGD")
    import_bookings(_file(_rich_booking()))
    db.session.commit()
    got = _read_back(db, "AT40000001")
    assert got["account"] == "DEMO" and got["airline"] == "SQ"
    assert got["booking"] == {
        "order_number": ("AT40000001", "str"),
        "pnr": ("K3X9QZ", "str"),
        "payment_channel": ("vcc", "str"),
        "currency": ("SGD", "str"),
        "status": ("ticketed", "str"),
        "issued_at": _utc(2026, 6, 12, 1, 30, 15),
        "contact_email": ("bookings@demo-travel.example", "str"),
        "contact_phone": ("+65 6123 4567", "str"),
        "first_departure_date": (date(2026, 7, 20), "date"),
        "route": ("SIN–BKK–GRU–SIN", "str"),
        "first_departure_at": _utc(2026, 7, 20, 15, 55),
        "first_departure_offset": (480, "int"),
        "lead_passenger": ("TAN/WEI MING", "str"),
        "passenger_count": (2, "int"),
        "action_required": (False, "bool"),
        "refund_state": ("none", "str"),
        "imported_at": (clock.now, "datetime"),
        "updated_at": (clock.now, "datetime"),
        "import_digest": (got["booking"]["import_digest"][0], "str"),
    }
    assert len(got["booking"]["import_digest"][0]) == 32
    first, second = got["passengers"]
    assert first == {
        "ref": ("P1", "str"), "position": (0, "int"), "ptype": ("ADT", "str"), "title": ("MR", "str"),
        "first_name": ("WEI MING", "str"), "last_name": ("TAN", "str"),
        "ticket_number": ("618-2400040001", "str"), "base": _money("420.00"), "taxes": _money("85.50"),
        "refundable_taxes": _money("60.00"), "refundable": (True, "bool"),
        "cancellation_fee": _money("150.00"), "changeable": (True, "bool"), "change_fee": _money("80.00"),
    }  # fmt: skip
    shown = ("position", "ptype", "base", "taxes", "refundable_taxes", "refundable")
    assert {k: second[k] for k in shown} == {
        "position": (1, "int"), "ptype": ("CHD", "str"), "base": _money("315.00"), "taxes": _money("0.50"),
        "refundable_taxes": _money("0.00"), "refundable": (False, "bool"),
    }  # fmt: skip
    assert [str(v[0]) for v in (first["base"], second["taxes"])] == ["420.00", "0.50"]  # the cents kept
    assert got["segments"][1] == {
        "ref": ("S2", "str"), "position": (1, "int"), "flight_number": ("SQ62", "str"),
        "origin": ("BKK", "str"), "destination": ("GRU", "str"),
        "departure_at": _utc(2026, 7, 25, 3, 0), "departure_offset": (420, "int"),
        "arrival_at": _utc(2026, 7, 26, 9, 30), "arrival_offset": (-180, "int"),
        "cabin": ("J", "str"), "status": ("cancelled", "str"),
    }  # fmt: skip
    assert [s["departure_at"] for s in got["segments"]] == [
        _utc(2026, 7, 20, 15, 55), _utc(2026, 7, 25, 3, 0), _utc(2026, 8, 3, 0, 15)
    ]  # fmt: skip
    bag = ("baggage", "str")
    assert got["ancillaries"] == [
        ("P2", "S1", {"type": bag, "description": ("Extra 10 kg", "str"), "price": _money("95.50")}),
        ("P1", "S3", {"type": bag, "description": ("Extra 20 kg", "str"), "price": _money("0.00")}),
    ]
    assert ("TANMEI", True) in got["keys"] and ("AT40000001", True) in got["keys"]
    assert all(same_account for _, same_account in got["keys"])


def test_a_bulk_written_booking_equals_the_same_booking_written_through_the_orm(clock, db, make):
    """One booking written new (bulk), another first imported with other values and then brought to the
    same content by a re-import (the ORM's _apply): every column but the order number reads the same."""
    make.account("DEMO", "SGD")
    bulk = _rich_booking("AT40000001")
    orm = _rich_booking("AT40000002")
    for i, p in enumerate(orm["passengers"]):
        p["ticket_number"] = f"618-24000500{i:02d}"
    first = json.loads(json.dumps(orm))
    first["pnr"], first["status"], first["ancillaries"] = "ABCDE", "cancelled", []
    first["passengers"][1]["fare"]["base"] = "1.00"
    first["segments"][2]["cabin"] = "Y"
    import_bookings(_file(first))
    db.session.commit()
    import_bookings(_file(bulk, orm))  # bulk is new here; orm is updated through the ORM
    db.session.commit()

    def comparable(got):
        got["booking"].pop("order_number")
        got["booking"].pop("import_digest")  # of content with another order number
        for p in got["passengers"]:
            p.pop("ticket_number")
        got["keys"] = [k for k in got["keys"] if not k[0].startswith(("AT4", "618", "240"))]
        return got

    assert comparable(_read_back(db, "AT40000001")) == comparable(_read_back(db, "AT40000002"))


def test_an_error_in_a_later_chunk_leaves_nothing_of_the_rows_written_in_bulk(db, make, monkeypatch):
    """The first chunks are written (COPY on PostgreSQL) on the session's own connection before the bad
    booking is read; the caller's rollback takes them back with everything else."""
    monkeypatch.setattr(service, "CHUNK", 2)
    written = []
    real_insert = service._RowWriter.insert

    def counting_insert(self, model, columns, rows, ids_by=None):
        written.append((model.__tablename__, len(rows)))
        return real_insert(self, model, columns, rows, ids_by)

    monkeypatch.setattr(service._RowWriter, "insert", counting_insert)
    make.account("DEMO", "SGD")
    docs = [_rich_booking(f"AT4000000{i}") for i in range(1, 6)]
    for i, doc in enumerate(docs):
        for j, p in enumerate(doc["passengers"]):
            p["ticket_number"] = f"618-24000{i}{j}000"
    docs[4]["segments"][0]["departure"] = "tomorrow"
    with pytest.raises(ImportRejected):
        import_bookings(_file(*docs))
    assert (
        ("booking", 2) in written and ("ancillary", 4) in written and ("booking_search_key", 2) not in written
    )
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 4  # in the transaction
    db.session.rollback()
    for model in (Booking, Passenger, Segment, Ancillary, BookingSearchKey, ScheduleChange):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model.__tablename__
