"""Schedule changes found on re-import (SPEC 2, 6): the agent accepts them or takes a free refund, and
operations see the open ones across accounts. Flushes, never commits (the view does).

Detection itself happens in the import (portal.services.bookings._schedule_change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Booking, Refund, ScheduleChange, Segment, User
from portal.services.coupons import booking_coupons, live_refund_codes
from portal.services.paging import Page
from portal.services.transitions import claim, claim_rows

RESOLUTION_LABELS = {"accepted": "Accepted", "refund": "Free refund"}


class ScheduleChangeError(DomainError):
    """A schedule-change answer that cannot be recorded; the message is for the user."""


def open_changes(booking: Booking) -> list[ScheduleChange]:
    return [c for c in booking.schedule_changes if c.acknowledged_at is None]


def _refresh_action_required(booking: Booking) -> None:
    """Action required stays on while any change of the booking is unanswered."""
    remaining = db.session.scalar(
        select(func.count())
        .select_from(ScheduleChange)
        .where(ScheduleChange.booking_id == booking.id, ScheduleChange.acknowledged_at.is_(None))
    )
    booking.action_required = remaining > 0


def accept_changes(
    booking: Booking, change_ids: list[int | str], *, user: User, now: datetime | None = None
) -> int:
    """Record that the agency accepts the new schedule: Accept change.

    Only the changes shown (their ids come with the form) are accepted, so one found by a re-import
    after the page was opened is not accepted unseen. Returns how many were accepted now; 0 when they
    had all been answered already (a second click). Action required clears when none remain.
    """
    now = now or utcnow()
    ids = {int(i) for i in change_ids if str(i).isdigit()}
    known = {c.id for c in booking.schedule_changes}
    if not ids or not ids <= known:
        raise ScheduleChangeError(
            "The change to accept is not on this booking. Reload the page and try again."
        )
    # Only this booking's changes (checked above), and only those nobody answered yet.
    accepted = claim_rows(
        ScheduleChange,
        ids,
        expected={"acknowledged_at": None},
        values={"acknowledged_at": now, "acknowledged_by_id": user.id, "resolution": "accepted"},
    )
    for change in booking.schedule_changes:
        db.session.refresh(change)
    _refresh_action_required(booking)
    db.session.flush()
    return accepted


def free_refund_coupons(booking: Booking, now: datetime) -> list[str]:
    """The coupons a free (involuntary) refund offers: every coupon still refundable.

    A partial selection cannot be quoted (the airline decides what part of a ticket is worth), so the
    free refund starts with the whole unflown itinerary; the agent may narrow it on Cancel & Refund.
    """
    return [c.key for _, coupons in booking_coupons(booking, now) for c in coupons if c.selectable]


def resolve_by_refund(refund: Refund, user: User, now: datetime) -> list[ScheduleChange]:
    """Mark the open changes an involuntary refund answers: those whose flight is now in a live refund
    for every passenger. Called by create_refund; clears Action required when none remain."""
    booking = refund.booking
    taken = live_refund_codes(booking)
    resolved = []
    for change in booking.schedule_changes:
        if change.acknowledged_at is not None:
            continue
        covered = all((p.id, change.segment_id) in taken for p in booking.passengers)
        values = {"acknowledged_at": now, "acknowledged_by_id": user.id, "resolution": "refund"}
        # An Accept change in another tab may have answered it meanwhile: then it stays accepted.
        if covered and claim(
            change, expected={"acknowledged_at": None}, values={**values, "refund_id": refund.id}
        ):
            resolved.append(change)
    if resolved:
        db.session.flush()
        _refresh_action_required(booking)
        db.session.flush()
    return resolved


# --- Operations list ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChangeFilters:
    state: str = "open"  # 'open', 'accepted', 'refund' or '' for any
    account_id: int | None = None


def schedule_change_list(filters: ChangeFilters, page: int, per_page: int) -> Page:
    """Schedule changes across accounts, oldest first, in a fixed number of queries."""
    conditions = []
    if filters.state == "open":
        conditions.append(ScheduleChange.acknowledged_at.is_(None))
    elif filters.state in RESOLUTION_LABELS:
        conditions.append(ScheduleChange.resolution == filters.state)
    base = select(ScheduleChange)
    if filters.account_id:
        base = base.join(Booking, Booking.id == ScheduleChange.booking_id)
        conditions.append(Booking.account_id == filters.account_id)
    base = base.where(*conditions)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    page = max(1, min(page, max(1, -(-total // per_page))))
    rows = db.session.scalars(
        base.order_by(ScheduleChange.detected_at.asc(), ScheduleChange.id.asc())
        .limit(per_page)
        .offset((page - 1) * per_page)
        .options(
            selectinload(ScheduleChange.booking).selectinload(Booking.account),
            selectinload(ScheduleChange.booking).selectinload(Booking.airline),
            selectinload(ScheduleChange.segment),
            selectinload(ScheduleChange.acknowledged_by),
            selectinload(ScheduleChange.refund),
        )
    ).all()
    return Page(items=list(rows), total=total, page=page, per_page=per_page)


# --- History --------------------------------------------------------------------------------------------


def _flight(segment: Segment) -> str:
    return f"{segment.flight_number} {segment.origin}→{segment.destination}"


def schedule_change_events(booking: Booking) -> list[tuple[datetime, str]]:
    """The booking's schedule changes and their answers as (time, text) history lines."""
    events = []
    for c in booking.schedule_changes:
        if c.kind == "cancelled":
            text = f"Schedule change: the airline cancelled {_flight(c.segment)}."
        else:
            text = (
                f"Schedule change: {_flight(c.segment)} now departs {c.new_departure_local:%d %b %Y %H:%M} "
                f"(was {c.old_departure_local:%d %b %Y %H:%M}), local time."
            )
        events.append((c.detected_at, text))
        if c.acknowledged_at is not None:
            who = f" by {c.acknowledged_by.name}" if c.acknowledged_by else ""
            if c.resolution == "refund" and c.refund is not None:
                answer = f"Free refund {c.refund.code} started for the change to {_flight(c.segment)}{who}."
            else:
                answer = f"Change to {_flight(c.segment)} accepted{who}."
            events.append((c.acknowledged_at, answer))
    return events
