"""Request History: a read-only view of a booking's life gathered from the services that own each
part (requests, refunds, schedule changes, baggage). It sits above them; none of them imports it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Booking, Refund, RefundEvent, RequestCategory, RequestEvent, ServiceRequest, User
from portal.services.baggage import baggage_events
from portal.services.schedule_changes import schedule_change_events


def change_events(booking: Booking) -> list[tuple[datetime, str]]:
    """Every post-booking change of the booking (baggage orders, schedule changes and their answers)
    as (UTC time, text), oldest first."""
    return sorted(schedule_change_events(booking) + baggage_events(booking), key=lambda e: e[0])


@dataclass
class HistoryEntry:
    at: datetime
    kind: str  # request | refund | change (baggage and schedule changes)
    reference: str  # SR… or RF…
    what: str
    status_label: str
    status: str
    actor: User | None
    note: str | None

    @property
    def is_change(self) -> bool:
        """A baggage order or schedule change line: text only, no reference to link."""
        return self.kind == "change"

    @property
    def is_request(self) -> bool:
        """A request's event (its reference links to the request; a refund's to Refund Info)."""
        return self.kind == "request"


def booking_history(booking: Booking) -> tuple[list[ServiceRequest], list[HistoryEntry]]:
    """The booking's requests (newest first) and every request and refund event in time order."""
    requests = db.session.scalars(
        select(ServiceRequest)
        .where(ServiceRequest.booking_id == booking.id)
        .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
        .options(
            selectinload(ServiceRequest.category).selectinload(RequestCategory.parent),
            selectinload(ServiceRequest.events).selectinload(RequestEvent.actor),
        )
    ).all()
    refunds = db.session.scalars(
        select(Refund)
        .where(Refund.booking_id == booking.id)
        .options(selectinload(Refund.events).selectinload(RefundEvent.actor))
    ).all()
    entries = []
    for req in requests:
        for e in req.events:
            what = {
                "created": f"Request raised: {req.category.full_label}",
                "taken": "Taken by operations",
                "quote": "Quote posted",
                "quote_accepted": "Quote accepted",
                "quote_declined": "Quote declined",
                "refund": "Refund submitted",
            }.get(e.kind, "Status changed")
            entries.append(
                HistoryEntry(e.at, "request", req.number, what, e.to_label, e.to_status, e.actor, e.note)
            )
    for refund in refunds:
        for e in refund.events:
            what = "Refund started" if e.from_status is None else "Refund status changed"
            entries.append(
                HistoryEntry(e.at, "refund", refund.code, what, e.to_label, e.to_status, e.actor, e.note)
            )
    for at, text in change_events(booking):
        entries.append(HistoryEntry(at, "change", "", text, "", "", None, None))
    entries.sort(key=lambda h: (h.at, h.kind != "request"))
    return list(requests), entries
