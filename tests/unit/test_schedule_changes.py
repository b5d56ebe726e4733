"""Schedule-change detection on re-import, and the two answers to a change (accept, free refund).

Detection lives in the import (portal.services.bookings._schedule_change), so it is tested through it.
"""

import copy
from datetime import datetime

import pytest
from sqlalchemy import select

from portal.clock import utcnow
from portal.domain.refunds import RefundPath
from portal.models import Booking, ScheduleChange
from portal.services.history import change_events
from portal.services.refunds import create_refund, parse_coupon_keys
from portal.services.schedule_changes import (
    ScheduleChangeError,
    accept_changes,
    free_refund_coupons,
    open_changes,
)
from tests.conftest import booking_doc, cancelled_by_airline, order_baggage, passenger_doc, rescheduled


def changes(db):
    return db.session.scalars(select(ScheduleChange).order_by(ScheduleChange.id)).all()


def booking(db, order_number="AT10000001"):
    db.session.expire_all()
    return db.session.scalar(select(Booking).where(Booking.order_number == order_number))


@pytest.fixture
def doc(make):
    make.account("DEMO", "SGD")
    doc = booking_doc("AT10000001")
    make.import_bookings(doc)
    return doc


def test_reimport_of_the_same_file_changes_nothing(db, make, doc):
    result = make.import_bookings(copy.deepcopy(doc))
    assert result.updated == ["AT10000001"] and result.schedule_changes == []
    assert changes(db) == []
    assert booking(db).action_required is False


def test_a_moved_flight_is_a_time_change_with_old_and_new_times(db, make, doc):
    moved = rescheduled(doc, segment=0, hours=3)
    make.import_bookings(moved)
    [change] = changes(db)
    assert change.kind == "time_changed"
    assert change.segment.ref == "S1"
    assert change.old_departure_local.isoformat() == doc["segments"][0]["departure"]
    assert change.new_departure_local.isoformat() == moved["segments"][0]["departure"]
    assert change.old_arrival_local.isoformat() == doc["segments"][0]["arrival"]
    assert change.new_arrival_local.isoformat() == moved["segments"][0]["arrival"]
    assert (change.old_status, change.new_status) == ("confirmed", "confirmed")
    assert change.acknowledged_at is None and change.resolution is None
    assert booking(db).action_required is True


def test_only_the_arrival_moving_is_a_change_too(db, make, doc):
    moved = copy.deepcopy(doc)
    arrival = datetime.fromisoformat(doc["segments"][1]["arrival"])
    moved["segments"][1]["arrival"] = arrival.replace(minute=(arrival.minute + 20) % 60).isoformat()
    make.import_bookings(moved)
    [change] = changes(db)
    assert change.kind == "time_changed" and change.segment.ref == "S2"


def test_a_cancelled_flight_is_recorded_as_cancelled(db, make, doc):
    make.import_bookings(cancelled_by_airline(doc, segment=1))
    [change] = changes(db)
    assert change.kind == "cancelled" and change.segment.ref == "S2"
    assert (change.old_status, change.new_status) == ("confirmed", "cancelled")
    assert booking(db).action_required is True


def test_moved_and_cancelled_at_once_counts_as_cancelled(db, make, doc):
    make.import_bookings(cancelled_by_airline(rescheduled(doc, segment=0), segment=0))
    assert [c.kind for c in changes(db)] == ["cancelled"]


def test_the_same_time_written_in_another_offset_is_no_change(db, make, doc):
    same = copy.deepcopy(doc)
    for field in ("departure", "arrival"):
        moment = datetime.fromisoformat(doc["segments"][0][field])
        same["segments"][0][field] = moment.astimezone(
            datetime.fromisoformat("2027-01-01T00:00+00:00").tzinfo
        )
        same["segments"][0][field] = same["segments"][0][field].isoformat()
    make.import_bookings(same)
    assert changes(db) == []


def test_importing_the_changed_file_again_records_nothing_new(db, make, doc, world_users):
    moved = rescheduled(doc)
    make.import_bookings(moved)
    accept_changes(booking(db), [c.id for c in changes(db)], user=world_users.agent)
    db.session.commit()
    make.import_bookings(copy.deepcopy(moved))
    assert len(changes(db)) == 1
    assert booking(db).action_required is False


def test_a_new_change_after_accepting_raises_action_required_again(db, make, doc, world_users):
    moved = rescheduled(doc)
    make.import_bookings(moved)
    accept_changes(booking(db), [c.id for c in changes(db)], user=world_users.agent)
    db.session.commit()
    make.import_bookings(rescheduled(moved, hours=1))
    assert [c.resolution for c in changes(db)] == ["accepted", None]
    assert booking(db).action_required is True


# --- Answers -------------------------------------------------------------------------------------------


@pytest.fixture
def world_users(make, db):
    class Users:
        pass

    users = Users()
    from portal.models import Account

    demo = db.session.scalar(select(Account).where(Account.code == "DEMO"))
    users.agent = make.user("agent", demo, email="agent@demo.example", name="Dana Agent")
    return users


def test_accept_records_who_and_when_and_clears_action_required(db, make, doc, world_users):
    make.import_bookings(cancelled_by_airline(rescheduled(doc, segment=0), segment=1))
    b = booking(db)
    assert len(open_changes(b)) == 2
    assert accept_changes(b, [c.id for c in b.schedule_changes], user=world_users.agent) == 2
    db.session.commit()
    b = booking(db)
    assert b.action_required is False and open_changes(b) == []
    for change in b.schedule_changes:
        assert change.resolution == "accepted"
        assert change.acknowledged_by_id == world_users.agent.id and change.acknowledged_at is not None


def test_accepting_twice_accepts_nothing_more(db, make, doc, world_users):
    make.import_bookings(rescheduled(doc))
    b = booking(db)
    ids = [c.id for c in b.schedule_changes]
    first_time = accept_changes(b, ids, user=world_users.agent)
    db.session.commit()
    assert first_time == 1
    assert accept_changes(booking(db), ids, user=world_users.agent) == 0


def test_a_change_found_after_the_page_was_shown_is_not_accepted_unseen(db, make, doc, world_users):
    moved = rescheduled(doc, segment=0)
    make.import_bookings(moved)
    shown = [c.id for c in changes(db)]
    make.import_bookings(cancelled_by_airline(moved, segment=1))  # arrives while the agent reads
    accept_changes(booking(db), shown, user=world_users.agent)
    db.session.commit()
    assert [c.resolution for c in changes(db)] == ["accepted", None]
    assert booking(db).action_required is True


@pytest.mark.parametrize("ids", [[], ["x"], [999999]])
def test_accepting_changes_that_are_not_the_bookings_is_refused(db, make, doc, world_users, ids):
    make.import_bookings(rescheduled(doc))
    with pytest.raises(ScheduleChangeError, match="not on this booking"):
        accept_changes(booking(db), ids, user=world_users.agent)


def test_free_refund_offers_every_refundable_coupon(db, make, doc):
    make.import_bookings(
        booking_doc(
            "AT10000002",
            passengers=[
                passenger_doc("P1", "TAN", "WEI MING", "618-2400000021"),
                passenger_doc("P2", "TAN", "HUI LING", "618-2400000022"),
            ],
        )
    )
    b = booking(db, "AT10000002")
    assert free_refund_coupons(b, utcnow()) == ["P1.S1", "P1.S2", "P2.S1", "P2.S2"]


def test_an_involuntary_refund_of_every_passenger_resolves_the_change(db, make, doc, world_users):
    make.import_bookings(rescheduled(doc))
    b = booking(db)
    refund = create_refund(
        b,
        parse_coupon_keys(b, ["P1.S1", "P1.S2"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world_users.agent,
        involuntary=True,
    )
    db.session.commit()
    assert str(refund.estimated_amount) == "505.50" and str(refund.service_fee) == "0.00"  # base + all taxes
    [change] = changes(db)
    assert change.resolution == "refund" and change.refund_id == refund.id
    assert change.acknowledged_by_id == world_users.agent.id
    assert booking(db).action_required is False


def test_a_voluntary_refund_leaves_the_change_open(db, make, doc, world_users):
    make.import_bookings(rescheduled(doc))
    b = booking(db)
    create_refund(
        b, parse_coupon_keys(b, ["P1.S1", "P1.S2"]), path=RefundPath.INSTANT_QUOTE, user=world_users.agent
    )
    db.session.commit()
    assert [c.resolution for c in changes(db)] == [None]
    assert booking(db).action_required is True


def test_change_events_read_in_order(db, make, doc, world_users):
    make.import_bookings(rescheduled(doc))
    b = booking(db)
    order_baggage(db, b, world_users.agent, segment="S2")
    accept_changes(booking(db), [c.id for c in changes(db)], user=world_users.agent)
    db.session.commit()
    events = change_events(booking(db))
    texts = [text for _, text in events]
    assert [at for at, _ in events] == sorted(at for at, _ in events)
    assert texts[0].startswith("Schedule change: SQ978 SIN→BKK now departs")
    assert any(t.startswith("Baggage BG") and "requested: Extra 10 kg" in t for t in texts)
    assert texts[-1] == "Change to SQ978 SIN→BKK accepted by Dana Agent."


@pytest.mark.parametrize(
    ("kind", "resolution", "cancellation", "label", "free_refund"),
    [
        ("time_changed", None, False, "New times", False),
        ("time_changed", "accepted", False, "New times", False),
        ("time_changed", "refund", False, "New times", True),
        ("cancelled", None, True, "Cancelled by the airline", False),
        ("cancelled", "accepted", True, "Cancelled by the airline", False),
        ("cancelled", "refund", True, "Cancelled by the airline", True),
    ],
)
def test_a_change_says_what_the_airline_did_and_how_it_was_answered(
    kind, resolution, cancellation, label, free_refund
):
    """The one home of these rules: the pages, the import's summary and the history ask the model."""
    change = ScheduleChange(kind=kind, resolution=resolution)
    assert change.is_cancellation is cancellation
    assert change.kind_label == label
    assert change.took_free_refund is free_refund
