"""Coupons: one passenger on one segment, and whether each can go into a refund now. Read by refunds,
baggage and schedule changes alike, so all three agree on which coupons are taken."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update

from portal.domain.refunds import (
    COUPON_STATE_REASONS,
    BookingRefundState,
    CouponState,
    booking_refund_state,
    coupon_state,
    segment_cancelled_by_refunds,
)
from portal.extensions import db
from portal.models import Airline, Booking, Passenger, Refund, RefundCoupon, Segment

CHUNK = 2000  # values per IN-list: far below SQLite's and PostgreSQL's limits on bound parameters


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


def refund_cancelled_segments(booking: Booking) -> frozenset[int]:
    """Ids of the booking's segments cancelled by refunds: a low-cost carrier's segment whose every
    passenger's coupon is in a live operator refund (domain.refunds.segment_cancelled_by_refunds).

    No query when refunds cannot cancel anything: a full-service carrier, or no coupon in a refund.
    """
    if not booking.airline.is_lcc or booking.refund_state == BookingRefundState.NONE:
        return frozenset()
    rows = db.session.execute(
        select(RefundCoupon.passenger_id, RefundCoupon.segment_id, Refund.path)
        .join(Refund, Refund.id == RefundCoupon.refund_id)
        .where(Refund.booking_id == booking.id, RefundCoupon.live.is_(True))
    ).all()
    paths = {(p, s): path for p, s, path in rows}
    return frozenset(
        segment.id
        for segment in booking.segments
        if segment_cancelled_by_refunds(
            carrier_type=booking.airline.carrier_type,
            refund_paths=[paths.get((p.id, segment.id)) for p in booking.passengers],
        )
    )


def refresh_refund_states(booking_ids: Iterable[int]) -> None:
    """Write each booking's refund state (domain.refunds.booking_refund_state) from its live refunds,
    in three statements per 2,000 bookings. Called wherever coupons enter or leave a live
    refund (insert_refunds(), the rejection of a refund) and where a re-import changes what a booking's
    coupons are or what its carrier is."""
    ids = sorted(set(booking_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        # Lock the bookings first (in id order, so two writers cannot deadlock), then count in a statement
        # of its own: under READ COMMITTED it sees the coupons of a refund committed while we waited, so
        # two refunds of one booking at once cannot both write "partly refunded". (SQLite: no-op.)
        # FOR NO KEY UPDATE: a refund row being inserted for the booking holds a key-share lock on it (its
        # foreign key), which a plain FOR UPDATE would wait for, and deadlock with its unique-index wait.
        db.session.execute(
            select(Booking.id)
            .where(Booking.id.in_(chunk))
            .order_by(Booking.id)
            .with_for_update(key_share=True)
        )
        passengers = (
            select(func.count())
            .where(Passenger.booking_id == Booking.id)
            .correlate(Booking)
            .scalar_subquery()
        )
        segments = (
            select(func.count()).where(Segment.booking_id == Booking.id).correlate(Booking).scalar_subquery()
        )
        live_by_path = (
            select(Refund.booking_id.label("booking_id"), Refund.path.label("path"), func.count().label("n"))
            .join(RefundCoupon, RefundCoupon.refund_id == Refund.id)
            .where(Refund.booking_id.in_(chunk), RefundCoupon.live.is_(True))
            .group_by(Refund.booking_id, Refund.path)
            .subquery()
        )
        # One row per booking and path of its live refunds (path None: none), in one statement.
        rows = db.session.execute(
            select(
                Booking.id, Airline.carrier_type, passengers, segments, live_by_path.c.path, live_by_path.c.n
            )
            .join(Airline, Airline.id == Booking.airline_id)
            .outerjoin(live_by_path, live_by_path.c.booking_id == Booking.id)
            .where(Booking.id.in_(chunk))
        ).all()
        facts: dict[int, tuple[str, int]] = {}
        live: dict[int, list[str]] = {}
        for booking_id, carrier, passenger_count, segment_count, path, coupons in rows:
            facts[booking_id] = (carrier, passenger_count * segment_count)
            if path is not None:
                live.setdefault(booking_id, []).extend([path] * coupons)
        table = Booking.__table__
        params = [
            {
                "bid": booking_id,
                "state": booking_refund_state(
                    carrier_type=carrier,
                    coupon_count=coupon_count,
                    live_refund_paths=live.get(booking_id, ()),
                ).value,
            }
            for booking_id, (carrier, coupon_count) in facts.items()
        ]
        if params:
            db.session.execute(
                update(table).where(table.c.id == bindparam("bid")).values(refund_state=bindparam("state")),
                params,
            )
    # The rows changed under the ORM: loaded bookings read the new state on their next access.
    changed = set(ids)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Booking) and obj.id in changed:
            db.session.expire(obj, ["refund_state"])


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
