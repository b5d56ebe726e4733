"""Schedule changes found on re-import (SPEC 2, 6): the agent accepts them or takes a free refund, and
operations see the open ones across accounts. Flushes, never commits (the view does).

Detection itself happens in the import (portal.services.bookings._schedule_change).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.domain.errors import Conflict, DomainError
from portal.extensions import db
from portal.models import Booking, Refund, ScheduleChange, Segment, User
from portal.services.coupons import booking_coupons, live_refund_codes
from portal.services.paging import LIST_COUNT_CAP, Page, Slice, Sort, SortOptions, probed_page
from portal.services.scope import Scope
from portal.services.transitions import claim, claim_rows
from portal.services.webhooks import emit, instant

RESOLUTION_LABELS = {"accepted": "Accepted", "refund": "Free refund"}
STATES = ("open", *RESOLUTION_LABELS)  # what ScheduleChange.state can be


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


class UnseenChanges(ScheduleChangeError, Conflict):
    """The booking has open changes the caller did not name: one arrived after it looked (409)."""


def accept_changes(
    booking: Booking,
    change_ids: list[int | str],
    *,
    user: User,
    now: datetime | None = None,
    every_open: bool = False,
) -> int:
    """Record that the agency accepts the new schedule: Accept change.

    Only the changes shown (their ids come with the form) are accepted, so one found by a re-import
    after the page was opened is not accepted unseen. Returns how many were accepted now; 0 when they
    had all been answered already (a second click). Action required clears when none remain.

    With `every_open` (the API), the ids must name every open change of the booking: when another is
    open, nothing is accepted and UnseenChanges says so, so a system answers only what it has read.
    """
    now = now or utcnow()
    ids = {int(i) for i in change_ids if str(i).isdigit()}
    known = {c.id for c in booking.schedule_changes}
    if not ids or not ids <= known:
        raise ScheduleChangeError(
            "The change to accept is not on this booking. Reload the page and try again.", field="changes"
        )
    unseen = sorted(c.id for c in open_changes(booking) if c.id not in ids)
    if every_open and unseen:
        raise UnseenChanges(
            f"The booking has open schedule changes you did not name ({', '.join(map(str, unseen))}), "
            "found after you looked. Nothing was accepted: read the changes again and answer all of them.",
            field="changes",
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


def _changes_in(filters: ChangeFilters):
    """The select of the changes the filters name (state, account): the operations list's and the API's."""
    conditions = []
    if filters.state == "open":
        conditions.append(ScheduleChange.acknowledged_at.is_(None))
    elif filters.state in RESOLUTION_LABELS:
        conditions.append(ScheduleChange.resolution == filters.state)
    base = select(ScheduleChange)
    if filters.account_id:
        base = base.join(Booking, Booking.id == ScheduleChange.booking_id)
        conditions.append(Booking.account_id == filters.account_id)
    return base.where(*conditions)


def _with_row_data(stmt):
    return stmt.options(
        selectinload(ScheduleChange.booking).selectinload(Booking.account),
        selectinload(ScheduleChange.booking).selectinload(Booking.airline),
        selectinload(ScheduleChange.segment),
        selectinload(ScheduleChange.acknowledged_by),
        selectinload(ScheduleChange.refund),
    )


def count_changes(filters: ChangeFilters) -> int:
    """How many schedule changes match these filters, exactly: Home's tile of the open ones (few by
    nature; the operations list counts no further than LIST_COUNT_CAP). One query."""
    return db.session.scalar(select(func.count()).select_from(_changes_in(filters).subquery()))


# The operations list's sortable columns (the URL's ?sort=&dir=): when a change was found, and the flight's
# departure as booked ("Was", shown on every row, also a cancelled flight's). Open changes are few and read
# by ix_schedule_change_open; every change (Status: Any) by an index of the sort's own columns.
SCHEDULE_CHANGE_SORTS = SortOptions(
    columns={
        "found": (ScheduleChange.detected_at, ScheduleChange.id),
        "departure": (ScheduleChange.old_departure_at, ScheduleChange.id),
    },
    default=Sort("found", descending=False),
)


def schedule_change_list(filters: ChangeFilters, page: int, per_page: int, sort: Sort | None = None) -> Page:
    """Schedule changes across accounts in the order `sort` names (SCHEDULE_CHANGE_SORTS; oldest found
    first by default), in a fixed number of queries. Counted no further than LIST_COUNT_CAP ("1,000+"),
    as the refund queue: every re-import can add changes, and Status: Any lists them all."""
    base = _changes_in(filters)
    order = SCHEDULE_CHANGE_SORTS.order_by(sort or SCHEDULE_CHANGE_SORTS.default)

    def rows(offset: int, limit: int) -> list[ScheduleChange]:
        return list(db.session.scalars(_with_row_data(base.order_by(*order).limit(limit).offset(offset))))

    return probed_page(rows, base.with_only_columns(ScheduleChange.id), page, per_page, cap=LIST_COUNT_CAP)


def changes_after(state: str, scope: Scope, after: tuple[datetime, int] | None, limit: int) -> Slice:
    """Up to `limit` of the scope's changes in `state` ('' for any) after the position `after` (detected
    time and id), newest found first: the operations list's conditions, read by position (the API)."""
    if scope.is_everything:
        return Slice([], None)  # an agency's list: staff have no API keys in v1
    stmt = _changes_in(ChangeFilters(state=state, account_id=scope.account_id))
    if after is not None:
        detected, change_id = after
        stmt = stmt.where(
            or_(
                ScheduleChange.detected_at < detected,
                (ScheduleChange.detected_at == detected) & (ScheduleChange.id < change_id),
            )
        )
    items = list(
        db.session.scalars(
            _with_row_data(
                stmt.order_by(ScheduleChange.detected_at.desc(), ScheduleChange.id.desc()).limit(limit + 1)
            )
        )
    )
    more = len(items) > limit
    items = items[:limit]
    return Slice(items, (items[-1].detected_at, items[-1].id) if more else None)


# --- Detection's edge: the agency's webhooks ----------------------------------------------------------


def change_data(change: ScheduleChange) -> dict:
    """A change as the webhook event tells it (the API's ScheduleChange shape)."""
    segment = change.segment
    return {
        "id": change.id,
        "order_number": change.booking.order_number,
        "segment": segment.ref,
        "flight_number": segment.flight_number,
        "origin": segment.origin,
        "destination": segment.destination,
        "kind": change.kind,
        "status": change.state,
        "detected_at": instant(change.detected_at),
        "old_departure_at": change.old_departure_local.isoformat(),
        "new_departure_at": change.new_departure_local.isoformat(),
        "old_arrival_at": change.old_arrival_local.isoformat(),
        "new_arrival_at": change.new_arrival_local.isoformat(),
    }


def tell_webhooks_of_changes(booking: Booking, changes: list[ScheduleChange], now: datetime) -> None:
    """One `schedule_change.detected` event per booking and import, with every change the import found on
    it (each with its id, for POST …/schedule-changes/accept). Called by the import once the changes
    have their ids, in its transaction."""
    emit(
        booking.account_id,
        "schedule_change.detected",
        {"order_number": booking.order_number, "changes": [change_data(c) for c in changes]},
        now,
    )


# --- History --------------------------------------------------------------------------------------------


def _flight(segment: Segment) -> str:
    return f"{segment.flight_number} {segment.origin}→{segment.destination}"


def schedule_change_events(booking: Booking) -> list[tuple[datetime, str]]:
    """The booking's schedule changes and their answers as (time, text) history lines."""
    events = []
    for c in booking.schedule_changes:
        if c.is_cancellation:
            text = f"Schedule change: the airline cancelled {_flight(c.segment)}."
        else:
            text = (
                f"Schedule change: {_flight(c.segment)} now departs {c.new_departure_local:%d %b %Y %H:%M} "
                f"(was {c.old_departure_local:%d %b %Y %H:%M}), local time."
            )
        events.append((c.detected_at, text))
        if c.acknowledged_at is not None:
            who = f" by {c.acknowledged_by.name}" if c.acknowledged_by else ""
            if c.took_free_refund and c.refund is not None:
                answer = f"Free refund {c.refund.code} started for the change to {_flight(c.segment)}{who}."
            else:
                answer = f"Change to {_flight(c.segment)} accepted{who}."
            events.append((c.acknowledged_at, answer))
    return events
