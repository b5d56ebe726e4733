"""Following up a refund: from day 21, once a day, through the refund's own service request."""

from __future__ import annotations

from datetime import date, datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.clock import utcnow
from portal.domain.deadlines import can_follow_up, follow_up_from, local_date
from portal.domain.errors import Conflict
from portal.domain.refunds import FINAL_STATUSES, RefundStatus
from portal.domain.requests import OpenRequestExists, RequestAction, RequestStatus, allowed
from portal.extensions import db
from portal.models import Refund, RefundFollowUp, RequestCategory, ServiceRequest, User
from portal.services.refunds import RefundError
from portal.services.requests import create_request, post_message


def _zone() -> str:
    return current_app.config["TIMEZONE"]


class FollowUpRefused(RefundError, Conflict):
    """Not now: before day 21, once the refund is final, or a second time the same day (409)."""


def follow_up_from_date(refund) -> date | None:
    """The first day (in the portal's zone) the refund may be followed up; None once it is final."""
    if RefundStatus(refund.status) in FINAL_STATUSES:
        return None
    return local_date(follow_up_from(refund.created_at), _zone())


def follow_up_state(refund, now: datetime) -> tuple[bool, str]:
    """(allowed now, text): 'Follow-up available', 'Available from 14 Dec 2026', or '—' once final.

    Works on a Refund or on any row with its status and created_at (the CSV export's rows).
    """
    if RefundStatus(refund.status) in FINAL_STATUSES:
        return False, "—"
    if not can_follow_up(refund.created_at, now):
        return False, f"Available from {follow_up_from_date(refund):%d %b %Y}"
    return True, "Follow-up available"


def follow_up(
    refund: Refund, *, user: User, message: str = "", now: datetime | None = None
) -> ServiceRequest:
    """Send a follow-up on the refund's request (reopening it if Processed), or open a Cancel & Refund
    request linked to it. Refused before day 21, for final refunds, and twice on the same day."""
    now = now or utcnow()
    allowed_now, text = follow_up_state(refund, now)
    if refund.is_final:
        raise FollowUpRefused(
            f"Refund {refund.code} is {refund.status_label.lower()}; there is nothing to follow up."
        )
    if not allowed_now:
        raise FollowUpRefused(f"Refund {refund.code} can be followed up 21 days after submission. {text}.")
    today = local_date(now, _zone())
    if db.session.scalar(
        select(RefundFollowUp.id).where(
            RefundFollowUp.refund_id == refund.id, RefundFollowUp.local_date == today
        )
    ):
        raise FollowUpRefused(f"Refund {refund.code} was already followed up today; try again tomorrow.")
    body = (
        f"Follow-up on refund {refund.code} (submitted {refund.created_at:%d %b %Y}, status "
        f"{refund.status_label})." + (f"\n\n{message.strip()}" if message and message.strip() else "")
    )
    req = _thread_for(refund)
    if req is not None:
        post_message(req, user=user, body=body, now=now)
    else:
        req = _new_request(refund, user, body, now)
    try:
        # Once a day: the unique (refund, day) decides two clicks at once; the caller undoes the message.
        with db.session.begin_nested():
            db.session.add(
                RefundFollowUp(
                    refund_id=refund.id, user_id=user.id, request_id=req.id, local_date=today, at=now
                )
            )
    except IntegrityError:
        raise FollowUpRefused(
            f"Refund {refund.code} was already followed up today; try again tomorrow."
        ) from None
    return req


def _thread_for(refund: Refund) -> ServiceRequest | None:
    """The refund's own request if it can still take a reply."""
    if refund.request_id is None:
        return None
    req = db.session.get(ServiceRequest, refund.request_id)
    if req is not None and allowed(RequestStatus(req.status), RequestAction.AGENCY_REPLY):
        return req
    return None


def _new_request(refund: Refund, user: User, body: str, now: datetime) -> ServiceRequest:
    category = db.session.scalar(select(RequestCategory).where(RequestCategory.code == "cancel_refund"))
    if category is None or not category.active:
        raise RefundError(
            "Follow-ups need the Cancel & Refund request category; ask an admin to reactivate it."
        )
    refs = sorted({line.passenger.ref for line in refund.passengers})
    try:
        req = create_request(
            refund.booking, category, user=user, description=body, passenger_refs=refs, now=now
        )
    except OpenRequestExists as exists:
        # The booking already has an open Cancel & Refund request: the follow-up goes there.
        req = db.session.scalar(select(ServiceRequest).where(ServiceRequest.number == exists.number))
        post_message(req, user=user, body=body, now=now)
    if refund.request_id is None:
        refund.request_id = req.id
    return req
