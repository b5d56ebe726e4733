"""Coupons: one passenger on one segment, and whether each can go into a refund now. Read by refunds,
baggage and schedule changes alike, so all three agree on which coupons are taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.domain.refunds import COUPON_STATE_REASONS, CouponState, coupon_state
from portal.extensions import db
from portal.models import Booking, Passenger, Refund, RefundCoupon, Segment


@dataclass(frozen=True)
class Coupon:
    passenger: Passenger
    segment: Segment
    state: CouponState
    refund_code: str | None = None

    @property
    def key(self) -> str:
        return f"{self.passenger.ref}.{self.segment.ref}"

    @property
    def selectable(self) -> bool:
        return self.state is CouponState.REFUNDABLE

    @property
    def reason(self) -> str | None:
        reason = COUPON_STATE_REASONS[self.state]
        if self.state is CouponState.IN_REFUND and self.refund_code:
            return f"{reason} ({self.refund_code})"
        return reason


def live_refund_codes(booking: Booking) -> dict[tuple[int, int], str]:
    """(passenger id, segment id) -> code of the live refund holding that coupon, in one query."""
    rows = db.session.execute(
        select(RefundCoupon.passenger_id, RefundCoupon.segment_id, Refund.code)
        .join(Refund, Refund.id == RefundCoupon.refund_id)
        .where(Refund.booking_id == booking.id, RefundCoupon.live.is_(True))
    ).all()
    return {(p, s): code for p, s, code in rows}


def booking_coupons(booking: Booking, now: datetime) -> list[tuple[Passenger, list[Coupon]]]:
    """Every coupon of the booking with its state, grouped by passenger in booking order."""
    taken = live_refund_codes(booking)
    result = []
    for passenger in booking.passengers:
        coupons = []
        for segment in booking.segments:
            code = taken.get((passenger.id, segment.id))
            state = coupon_state(
                booking_status=booking.status,
                segment_status=segment.status,
                departure_utc=segment.departure_at,
                now=now,
                in_live_refund=code is not None,
            )
            coupons.append(Coupon(passenger, segment, state, code))
        result.append((passenger, coupons))
    return result
