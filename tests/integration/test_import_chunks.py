"""Issue 16: the import checks and writes a file a chunk at a time, in one transaction, reading a large
file a booking at a time. What a user sees must not depend on where the chunks fall: every error of the
file, nothing written when there is one (also when it is in the last chunk), nothing written for a
re-imported booking that did not change."""

import copy
import io
import json

import pytest
from sqlalchemy import func, select

from portal.domain.booking_import import ImportRejected
from portal.models import Booking, BookingSearchKey, Passenger, ScheduleChange
from portal.services import bookings as service
from portal.services.bookings import LATE_MEMBERS, import_bookings
from tests.conftest import AIRLINES, QueryCounter, booking_doc, passenger_doc, rescheduled

NUMBERS = [f"AT3000000{i}" for i in range(1, 8)]  # seven bookings: chunks of 2, 2, 2 and 1


def _file(bookings, airlines=AIRLINES, *, bookings_last=True) -> bytes:
    members = [("format", "portal-bookings/1"), ("airlines", copy.deepcopy(airlines))]
    members.insert(len(members) if bookings_last else 1, ("bookings", bookings))
    return json.dumps(dict(members), indent=1).encode()


@pytest.fixture(params=["whole", "streamed"])
def source(request, monkeypatch):
    """The file as bytes (read whole), or as a binary file read a booking at a time; chunks of 2."""
    monkeypatch.setattr(service, "CHUNK", 2)
    if request.param == "streamed":
        monkeypatch.setattr(service, "STREAM_FROM", 0)
        return io.BytesIO
    return lambda raw: raw


def count(db, model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_every_booking_is_written_whatever_the_chunks(db, make, source):
    make.account("DEMO", "SGD")
    result = import_bookings(source(_file([booking_doc(n) for n in NUMBERS])))
    db.session.commit()
    assert result.created == NUMBERS and result.updated == []
    assert sorted(db.session.scalars(select(Booking.order_number))) == NUMBERS
    assert count(db, Passenger) == 7
    keys = set(db.session.scalars(select(BookingSearchKey.key)))
    assert {"AT30000007", "TANWEIMING", "WEIMING"} <= keys


def test_an_error_in_the_last_chunk_imports_nothing(db, make, source):
    make.account("DEMO", "SGD")
    docs = [booking_doc(n) for n in NUMBERS]
    docs[-1]["segments"][0]["departure"] = "2027-01-17 12:05"
    with pytest.raises(ImportRejected) as caught:
        import_bookings(source(_file(docs)))
    db.session.rollback()
    assert caught.value.errors == [
        "bookings[6] (AT30000007): segments[0].departure: not an ISO 8601 time with offset"
    ]
    assert count(db, Booking) == 0 and count(db, BookingSearchKey) == 0


def test_errors_of_every_chunk_are_listed_in_file_order(db, make, source):
    make.account("DEMO", "SGD")
    docs = [booking_doc(n) for n in NUMBERS]
    docs[0]["pnr"] = "k3"
    docs[5]["account"] = "ACME"
    docs[6]["order_number"] = NUMBERS[1]  # a second AT30000002, three chunks after the first
    docs[6]["passengers"][0]["ticket_number"] = docs[1]["passengers"][0]["ticket_number"]
    with pytest.raises(ImportRejected) as caught:
        import_bookings(source(_file(docs)))
    db.session.rollback()
    ticket = docs[1]["passengers"][0]["ticket_number"]
    assert caught.value.errors == [
        "bookings[0] (AT30000001): pnr: must be 5-8 uppercase letters or digits",
        "bookings[5] (AT30000006): account: no client account with code ACME",
        "bookings[6] (AT30000002): order_number: AT30000002 appears twice in this file (also bookings[1])",
        f"bookings[6] (AT30000002): passengers[0].ticket_number: {ticket} appears twice in this file "
        "(also bookings[1] (AT30000002) passengers[0])",
    ]
    assert count(db, Booking) == 0


def test_an_order_number_again_in_a_later_chunk_is_one_error(db, make, source):
    """The first AT30000002 is written before the second is read: the second is still checked as new
    to the database (else it would be refused for dropping a segment "imported before")."""
    make.account("DEMO", "SGD")
    docs = [booking_doc(n) for n in NUMBERS]
    docs[6] = booking_doc(NUMBERS[1], passengers=[passenger_doc(ticket="618-2400007009")])
    docs[6]["segments"] = docs[6]["segments"][:1]
    with pytest.raises(ImportRejected) as caught:
        import_bookings(source(_file(docs)))
    db.session.rollback()
    assert caught.value.errors == [
        "bookings[6] (AT30000002): order_number: AT30000002 appears twice in this file (also bookings[1])",
    ]
    assert count(db, Booking) == 0


def test_a_ticket_given_up_by_a_booking_later_in_the_file_may_be_taken(db, make, source):
    make.account("DEMO", "SGD")
    import_bookings(_file([booking_doc(NUMBERS[0], passengers=[passenger_doc(ticket="618-2400007001")])]))
    db.session.commit()
    taker = booking_doc(NUMBERS[1], passengers=[passenger_doc(ticket="618-2400007001")])
    others = [booking_doc(n) for n in NUMBERS[2:6]]
    giver = booking_doc(NUMBERS[0], passengers=[passenger_doc(ticket="618-2400007002")])
    import_bookings(source(_file([taker, *others, giver])))  # the giver comes three chunks later
    db.session.commit()
    owner = db.session.scalar(
        select(Booking.order_number).join(Passenger).where(Passenger.ticket_number == "618-2400007001")
    )
    assert owner == NUMBERS[1]

    with pytest.raises(ImportRejected) as caught:  # without the giver in the file: refused
        import_bookings(
            source(_file([booking_doc(NUMBERS[6], passengers=[passenger_doc(ticket="618-2400007001")])]))
        )
    db.session.rollback()
    assert caught.value.errors == [
        f"bookings[0] ({NUMBERS[6]}): passengers[0].ticket_number: 618-2400007001 is already a ticket of "
        f"booking {NUMBERS[1]}"
    ]


def test_an_unchanged_reimport_writes_nothing(db, make, source):
    make.account("DEMO", "SGD")
    raw = _file([booking_doc(n) for n in NUMBERS])
    import_bookings(raw)
    db.session.commit()
    with QueryCounter(db.engine) as queries:
        result = import_bookings(source(raw))
        db.session.flush()
    assert result.updated == NUMBERS and result.created == [] and result.schedule_changes == []
    writes = [s for s in queries.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


def test_only_the_changed_bookings_are_written_and_their_changes_recorded(clock, db, make, source):
    make.account("DEMO", "SGD")
    docs = [booking_doc(n) for n in NUMBERS]
    import_bookings(_file(docs))
    db.session.commit()
    before = dict(db.session.execute(select(Booking.order_number, Booking.updated_at)).all())
    clock.advance(hours=1)
    docs[2] = rescheduled(docs[2], segment=0, hours=3)
    docs[6] = rescheduled(docs[6], segment=1, hours=-1)
    result = import_bookings(source(_file(docs)))
    db.session.commit()
    assert [(c.order_number, c.segment_ref) for c in result.schedule_changes] == [
        (NUMBERS[2], "S1"),
        (NUMBERS[6], "S2"),
    ]
    assert count(db, ScheduleChange) == 2
    after = dict(db.session.execute(select(Booking.order_number, Booking.updated_at)).all())
    assert [n for n in NUMBERS if after[n] != before[n]] == [NUMBERS[2], NUMBERS[6]]
    flagged = db.session.scalars(select(Booking.order_number).where(Booking.action_required.is_(True)))
    assert sorted(flagged) == [NUMBERS[2], NUMBERS[6]]


def test_a_streamed_file_must_end_with_its_bookings(db, make, monkeypatch):
    monkeypatch.setattr(service, "STREAM_FROM", 0)
    make.account("DEMO", "SGD")
    raw = _file([booking_doc(n) for n in NUMBERS[:2]], bookings_last=False)
    with pytest.raises(ImportRejected) as caught:
        import_bookings(io.BytesIO(raw))
    db.session.rollback()
    assert caught.value.errors == [LATE_MEMBERS]
    assert count(db, Booking) == 0
    # Read whole (a file under the size that is streamed), the same file imports.
    monkeypatch.setattr(service, "STREAM_FROM", 1 << 30)
    assert import_bookings(io.BytesIO(raw)).created == NUMBERS[:2]


def test_a_streamed_file_reports_json_and_text_errors_like_a_whole_one(db, make, monkeypatch):
    monkeypatch.setattr(service, "STREAM_FROM", 0)
    make.account("DEMO", "SGD")
    broken = _file([booking_doc(n) for n in NUMBERS[:2]]).replace(b'"AT30000002"', b'"AT30000002",,')
    hidden = _file([booking_doc(n) for n in NUMBERS[:2]]).replace(b"WEI MING", b"WEI\\u0000MING", 1)
    for raw in (broken, hidden, b"\xff" + broken):
        with pytest.raises(ImportRejected) as whole:
            import_bookings(raw)
        with pytest.raises(ImportRejected) as streamed:
            import_bookings(io.BytesIO(raw))
        assert streamed.value.errors == whole.value.errors
        db.session.rollback()
    assert count(db, Booking) == 0
