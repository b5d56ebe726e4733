"""Two submissions for the same coupon at the same moment make one refund and one clear refusal."""

import threading

from sqlalchemy import func, select

from portal.domain.refunds import RefundPath
from portal.extensions import db as _db
from portal.models import Booking, Refund, RefundCoupon, User
from portal.services import refunds as refunds_service
from portal.services.refunds import CouponTaken, create_refund, parse_coupon_keys


def test_the_live_coupon_index_refuses_a_second_live_refund(db, world):
    """The database itself refuses it, even when the application check is bypassed."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    first = create_refund(
        world.booking,
        parse_coupon_keys(world.booking, ["P1.S1"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    coupon = first.coupons[0]
    db.session.add(
        RefundCoupon(
            refund_id=first.id, passenger_id=coupon.passenger_id, segment_id=coupon.segment_id, live=True
        )
    )
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_two_simultaneous_submissions_create_one_refund(app, db, world, monkeypatch):
    booking_id, user_id = world.booking.id, world.agent.id
    checked = threading.Barrier(2)
    outcomes: list[str] = []
    original_quote = refunds_service.compute_quote

    def quote_then_wait(*args, **kwargs):
        # Both requests have passed every application check before either writes: only the
        # database's unique index can stop the second one.
        quote = original_quote(*args, **kwargs)
        checked.wait(timeout=10)
        return quote

    monkeypatch.setattr(refunds_service, "compute_quote", quote_then_wait)

    def submit():
        with app.app_context():
            booking = _db.session.get(Booking, booking_id)
            user = _db.session.get(User, user_id)
            selection = parse_coupon_keys(booking, ["P1.S1", "P1.S2"])
            try:
                create_refund(booking, selection, path=RefundPath.INSTANT_QUOTE, user=user)
                _db.session.commit()
                outcomes.append("created")
            except CouponTaken as exc:
                outcomes.append(f"refused: {exc}")
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(o.split(":")[0] for o in outcomes) == ["created", "refused"], outcomes
    refused = next(o for o in outcomes if o.startswith("refused"))
    assert "was just submitted" in refused and "Nothing new was created" in refused
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1
    assert db.session.scalar(select(func.count()).select_from(RefundCoupon).where(RefundCoupon.live)) == 2


def test_credit_and_reject_at_once_cannot_both_succeed(app, db, world):
    """Operator A opened the row (received), operator B rejected it meanwhile: A's credit is refused."""
    import pytest

    from portal.domain.refunds import RefundTransitionError
    from portal.models import LedgerEntry
    from portal.services.refunds import apply_action

    refund = create_refund(
        world.booking,
        parse_coupon_keys(world.booking, ["P1.S1", "P1.S2"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    apply_action(refund, "mark_submitted_to_airline", user=world.ops, reference="R")
    apply_action(
        refund,
        "record_airline_refund",
        user=world.ops,
        amount="300.00",
        refunded_on=refund.created_at.date(),
        reference="P",
    )
    db.session.commit()
    stale = db.session.get(Refund, refund.id)
    assert stale.status == "received"

    with app.app_context():  # operator B, in another request
        other = _db.session.get(Refund, refund.id)
        apply_action(other, "reject", user=_db.session.get(User, world.ops.id), reason="Duplicate of RF-1")
        _db.session.commit()
        _db.session.remove()

    with pytest.raises(RefundTransitionError):
        apply_action(stale, "credit_balance", user=world.ops)
    db.session.rollback()
    assert db.session.get(Refund, refund.id).status == "rejected"
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == 0
