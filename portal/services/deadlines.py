"""The deadlines that drive the work (SPEC 3.5), as the scheduler applies them.

- 4 hours: an operator refund still requested is flagged overdue, once, and operations are notified.
- 21 days: a refund not final is flagged follow-up eligible, once, and its agency is notified.
- 72 hours: a request left Processed with no agency reply is completed through the same
  change_status() as an operator's Complete, which writes its event and tells the agency.
Each flag is one conditional UPDATE … RETURNING, so two schedulers at once flag and notify a row once;
each completion claims the request's row, so the second scheduler finds it completed and skips it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.domain.deadlines import AUTO_COMPLETE_AFTER, FOLLOW_UP_AFTER, OVERDUE_AFTER
from portal.domain.refunds import OPERATOR_PATHS
from portal.domain.requests import RequestAction, RequestStatus, RequestTransitionError
from portal.extensions import db
from portal.links import path_for
from portal.models import Refund, ServiceRequest
from portal.services.notifications import account_agents, notify, staff_users
from portal.services.refunds import tell_webhooks
from portal.services.requests import change_status

# Written out as in the partial indexes' WHERE clauses (portal/models/refunds.py), with literals rather
# than bound parameters, so the planner can prove the index applies and reads only candidate rows.
OVERDUE_CANDIDATE = text("refund.status = 'requested' AND refund.overdue_at IS NULL")
FOLLOW_UP_CANDIDATE = text(
    "refund.status IN ('requested', 'submitted', 'received') AND refund.follow_up_eligible_at IS NULL"
)
AUTO_COMPLETED = "Completed automatically: no reply within 72 hours of being processed."


def flag_overdue_refunds(now: datetime | None = None) -> list[Refund]:
    """Operator refunds still `requested` 4 hours after receipt: flag once, notify operations."""
    now = now or utcnow()
    ids = db.session.scalars(
        update(Refund)
        .where(
            OVERDUE_CANDIDATE,
            Refund.created_at <= now - OVERDUE_AFTER,
            Refund.path.in_([p.value for p in OPERATOR_PATHS]),
        )
        .values(overdue_at=now)
        .returning(Refund.id)
        .execution_options(synchronize_session=False)
    ).all()
    refunds = _load(ids)
    if refunds:
        staff = staff_users(("operations",)) or staff_users(("admin",))  # once, not per refund
        for refund in refunds:
            notify(
                staff,
                "refund_overdue",
                f"Refund {refund.code} ({refund.account.code}) is overdue: not submitted to the airline "
                "within 4 hours.",
                path_for("operations.refund_queue", status="requested"),
                now=now,
                topic=f"refund:{refund.code}",
            )
    return refunds


def flag_follow_up_eligible(now: datetime | None = None) -> list[Refund]:
    """Refunds not final 21 days after submission: mark once, notify the account's agents."""
    now = now or utcnow()
    ids = db.session.scalars(
        update(Refund)
        .where(FOLLOW_UP_CANDIDATE, Refund.created_at <= now - FOLLOW_UP_AFTER)
        .values(follow_up_eligible_at=now)
        .returning(Refund.id)
        .execution_options(synchronize_session=False)
    ).all()
    refunds = _load(ids)
    agents: dict[int, list] = {}
    for refund in refunds:
        if refund.account_id not in agents:
            agents[refund.account_id] = account_agents(refund.account_id)
        notify(
            agents[refund.account_id],
            "follow_up_eligible",
            f"Refund {refund.code} for order {refund.booking.order_number} can now be followed up.",
            path_for("bookings.refund_info", order_number=refund.booking.order_number),
            now=now,
            topic=f"refund:{refund.code}",
        )
        tell_webhooks(refund, "follow_up.available", now)
    return refunds


def auto_complete_requests(now: datetime | None = None) -> list[ServiceRequest]:
    """Requests left Processed 72 hours with no agency reply (a reply reopens them): complete them,
    each through change_status() as an operator's Complete would. A request waiting on an open quote is
    left until 72 hours after the quote expires (domain.requests.may_auto_complete, which the request
    page agrees with)."""
    now = now or utcnow()
    # Processed 72 hours ago is necessary whatever the quote (the index reads only these rows); the
    # domain rule decides the rest.
    candidates = db.session.scalars(
        select(ServiceRequest)
        .where(
            ServiceRequest.status == RequestStatus.PROCESSED.value,
            ServiceRequest.processed_at <= now - AUTO_COMPLETE_AFTER,
        )
        .order_by(ServiceRequest.id)
        .options(selectinload(ServiceRequest.quotes))
    ).all()
    completed = []
    for req in candidates:
        if not req.may_auto_complete(now):
            continue  # an open quote the agency may still answer
        try:
            change_status(req, RequestAction.COMPLETE, user=None, now=now, note=AUTO_COMPLETED)
        except RequestTransitionError:
            continue  # another scheduler, or the agency's reply, got there first
        completed.append(req)
    return completed


def _load(ids: list[int]) -> list[Refund]:
    if not ids:
        return []
    # The flagged rows with what their notifications name, in a fixed number of queries.
    return list(
        db.session.scalars(
            select(Refund)
            .where(Refund.id.in_(ids))
            .order_by(Refund.id)
            .options(selectinload(Refund.account), selectinload(Refund.booking))
        )
    )
