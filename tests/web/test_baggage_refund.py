"""Issue 13: baggage on a flight that goes into a refund. The refund fails the open order with its reason
(every path: the Refund button, a batch row, a claim, a request), tells the agency, and operations cannot
confirm baggage on a flight in a live refund; ordering baggage on such a flight was already refused."""

import pytest
from sqlalchemy import select

from portal.models import BaggageOrder, LedgerEntry, Notification, Refund
from portal.services import refunds as refund_service
from portal.services.baggage import (
    BaggageError,
    BaggageTransitionError,
    FlightInRefund,
    apply_baggage_action,
)
from tests.conftest import make_refund_batch, order_baggage, raise_service_request

HX = {"HX-Request": "true"}


def fresh(db, order) -> BaggageOrder:
    db.session.expire_all()
    return db.session.get(BaggageOrder, order.id)


def agent_notices(db, world) -> list[str]:
    return list(
        db.session.scalars(
            select(Notification.text).where(
                Notification.user_id == world.agent.id, Notification.kind == "baggage"
            )
        )
    )


def test_the_refund_button_fails_the_open_order_with_the_reason(db, world, make):
    order = order_baggage(db, world.booking, world.agent)  # P1 on S1
    refund = make.refund(world.booking, world.agent)  # P1, every segment
    order = fresh(db, order)
    assert order.status == "failed"
    assert order.failure_reason == f"Refund {refund.code} started for this flight."
    assert order.decided_by_id == world.agent.id and order.decided_at == refund.created_at
    assert agent_notices(db, world) == [
        f"Baggage {order.code} on order AT10000001 could not be added: Refund {refund.code} started for "
        "this flight."
    ]
    # Operations can no longer confirm it, so nothing is debited.
    with pytest.raises(BaggageTransitionError, match="already failed"):
        apply_baggage_action(order, "confirm", user=world.ops)
    db.session.rollback()
    assert db.session.scalars(select(LedgerEntry)).all() == []


def test_only_the_refunded_flights_orders_fail(db, world, make):
    outbound = order_baggage(db, world.booking, world.agent, segment="S1")
    inbound = order_baggage(db, world.booking, world.agent, segment="S2")
    refund = make.refund(world.booking, world.agent, coupons=["P1.S2"])
    assert fresh(db, outbound).status == "requested"
    assert fresh(db, inbound).failure_reason == f"Refund {refund.code} started for this flight."


def test_a_batch_row_fails_the_open_order(db, world):
    order = order_baggage(db, world.booking, world.agent)
    make_refund_batch(db, world.agent, "AT10000001")
    [refund] = db.session.scalars(select(Refund)).all()
    assert refund.path == "agent_batch"
    order = fresh(db, order)
    assert order.status == "failed" and refund.code in order.failure_reason
    assert len(agent_notices(db, world)) == 1


def test_an_agent_refund_request_fails_the_open_order(db, world):
    order = order_baggage(db, world.booking, world.agent)
    raise_service_request(db, world.booking, world.agent, "agent_refund")
    [refund] = db.session.scalars(select(Refund)).all()
    assert fresh(db, order).failure_reason == f"Refund {refund.code} started for this flight."


def test_a_refund_refused_as_taken_leaves_the_order_alone(db, world, make, monkeypatch):
    """The savepoint undoes the whole write, the failed baggage order and its notice included."""
    make.refund(world.booking, world.agent, coupons=["P1.S2"])
    order = order_baggage(db, world.booking, world.agent, segment="S1")
    monkeypatch.setattr(refund_service, "check_selection", lambda *a, **k: None)
    with pytest.raises(refund_service.CouponTaken):
        make.refund(world.booking, world.agent)  # S2 is taken: the insert fails at the live-coupon index
    db.session.rollback()
    assert fresh(db, order).status == "requested" and agent_notices(db, world) == []


def test_baggage_on_a_flight_in_a_refund_cannot_be_ordered(db, world, make):
    """The other order of events, already refused before issue 13."""
    make.refund(world.booking, world.agent)
    with pytest.raises(BaggageError, match="in a refund"):
        order_baggage(db, world.booking, world.agent)


def test_operations_cannot_confirm_an_order_whose_flight_is_in_a_live_refund(client, auth, db, world, make):
    """An order still open on a refunding flight (made before this rule, say): Confirm is refused, 409."""
    order = order_baggage(db, world.booking, world.agent)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(refund_service, "fail_orders_in_refunds", lambda *a, **k: [])
        refund = make.refund(world.booking, world.agent)
    assert fresh(db, order).status == "requested"
    auth.login(world.ops)
    response = client.post(f"/operations/baggage/{order.id}/confirm", headers=HX)
    assert response.status_code == 409
    assert f"refund {refund.code} started for this flight" in response.get_data(as_text=True)
    assert fresh(db, order).status == "requested"
    assert db.session.scalars(select(LedgerEntry)).all() == []
    # Fail still works, with operations' own reason.
    with pytest.raises(FlightInRefund):
        apply_baggage_action(fresh(db, order), "confirm", user=world.ops)
    db.session.rollback()
    failed = apply_baggage_action(fresh(db, order), "fail", user=world.ops, reason="Refunded flight.")
    assert failed.status == "failed"


def test_a_rejected_refund_frees_the_flight_for_confirmation_again(db, world, make):
    order = order_baggage(db, world.booking, world.agent)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(refund_service, "fail_orders_in_refunds", lambda *a, **k: [])
        make.refund(world.booking, world.agent, status="rejected", by=world.ops)
    confirmed = apply_baggage_action(fresh(db, order), "confirm", user=world.ops)
    assert confirmed.status == "confirmed"


def test_the_reason_is_shown_on_booking_details(client, auth, db, world, make):
    order = order_baggage(db, world.booking, world.agent)
    refund = make.refund(world.booking, world.agent)
    auth.login(world.agent)
    page = client.get("/bookings/AT10000001").get_data(as_text=True)
    assert order.code in page and f"Refund {refund.code} started for this flight." in page
