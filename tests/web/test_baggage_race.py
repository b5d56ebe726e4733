"""Two clicks at the same moment: one baggage order, and one debit when two operators confirm at once."""

import threading

from sqlalchemy import func, select

from portal.extensions import db as _db
from portal.models import BaggageOption, BaggageOrder, Booking, LedgerEntry, User
from portal.services import baggage as baggage_service
from portal.services.baggage import (
    AlreadyOrdered,
    BaggageTransitionError,
    apply_baggage_action,
    create_baggage_order,
)
from tests.conftest import order_baggage


def run_together(app, work, count=2):
    outcomes: list[str] = []

    def run():
        with app.app_context():
            try:
                outcomes.append(work())
                _db.session.commit()
            except Exception as exc:  # the refusal is the outcome under test
                _db.session.rollback()
                outcomes.append(f"refused: {type(exc).__name__}: {exc}")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return outcomes


def test_two_simultaneous_orders_create_one(app, db, world, monkeypatch):
    booking_id, user_id = world.booking.id, world.agent.id
    option_id = db.session.scalar(select(BaggageOption.id).where(BaggageOption.code == "XBAG10"))
    checked = threading.Barrier(2)
    original = baggage_service.refusal

    def check_then_wait(case):
        # Both requests pass every application check before either writes: only the index can stop one.
        result = original(case)
        checked.wait(timeout=10)
        return result

    monkeypatch.setattr(baggage_service, "refusal", check_then_wait)

    def order():
        booking = _db.session.get(Booking, booking_id)
        user = _db.session.get(User, user_id)
        create_baggage_order(booking, passenger_ref="P1", segment_ref="S1", option_id=option_id, user=user)
        return "created"

    outcomes = run_together(app, order)
    assert sorted(o.split(":")[0] for o in outcomes) == ["created", "refused"], outcomes
    refused = next(o for o in outcomes if o.startswith("refused"))
    assert AlreadyOrdered.__name__ in refused and "nothing new was created" in refused
    assert db.session.scalar(select(func.count()).select_from(BaggageOrder)) == 1


def test_two_operators_confirming_at_once_debit_once(app, db, world, monkeypatch):
    order_id = order_baggage(db, world.booking, world.agent).id
    ops_id = world.ops.id
    read = threading.Barrier(2)
    original = baggage_service.next_status

    def decide_then_wait(status, action):
        result = original(status, action)  # both saw "requested"
        read.wait(timeout=10)
        return result

    monkeypatch.setattr(baggage_service, "next_status", decide_then_wait)

    def confirm():
        order = _db.session.get(BaggageOrder, order_id)
        apply_baggage_action(order, "confirm", user=_db.session.get(User, ops_id))
        return "confirmed"

    outcomes = run_together(app, confirm)
    assert sorted(o.split(":")[0] for o in outcomes) == ["confirmed", "refused"], outcomes
    assert BaggageTransitionError.__name__ in next(o for o in outcomes if o.startswith("refused"))
    db.session.expire_all()
    [entry] = db.session.scalars(select(LedgerEntry)).all()
    assert str(entry.amount) == "-95.00"
    assert db.session.get(BaggageOrder, order_id).ledger_entry_id == entry.id
