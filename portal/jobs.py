"""The scheduled jobs (SPEC 3.5) and the scheduler process.

Each job is one conditional UPDATE that flags a row exactly once and returns the rows it changed;
notifications are driven only from those rows. Two processes running a job at the same moment
therefore flag and notify each row once: the second UPDATE finds the flag already set.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import Flask, current_app
from sqlalchemy import select, text, update
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.domain.deadlines import AUTO_COMPLETE_AFTER, FOLLOW_UP_AFTER, OVERDUE_AFTER
from portal.domain.refunds import OPERATOR_PATHS
from portal.domain.requests import RequestAction
from portal.domain.requests import RequestStatus as RequestStatus_
from portal.domain.requests import next_status as next_request_status
from portal.extensions import db
from portal.links import path_for
from portal.models import OutboxEmail, Refund, RequestEvent, ServiceRequest
from portal.services.notifications import account_agents, notify, staff_users

log = logging.getLogger(__name__)

# Written out as in the partial indexes' WHERE clauses (portal/models/refunds.py), with literals rather
# than bound parameters, so the planner can prove the index applies and reads only candidate rows.
OVERDUE_CANDIDATE = text("refund.status = 'requested' AND refund.overdue_at IS NULL")
FOLLOW_UP_CANDIDATE = text(
    "refund.status IN ('requested', 'submitted', 'received') AND refund.follow_up_eligible_at IS NULL"
)


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
        )
    return refunds


def auto_complete_requests(now: datetime | None = None) -> list[ServiceRequest]:
    """Requests left Processed 72 hours with no agency reply (a reply reopens them): complete them once."""
    now = now or utcnow()
    before = RequestStatus_.PROCESSED
    after = next_request_status(before, RequestAction.COMPLETE)  # the workflow table decides
    ids = db.session.scalars(
        update(ServiceRequest)
        .where(
            ServiceRequest.status == before.value, ServiceRequest.processed_at <= now - AUTO_COMPLETE_AFTER
        )
        .values(status=after.value, last_activity_at=now)
        .returning(ServiceRequest.id)
        .execution_options(synchronize_session=False)
    ).all()
    if not ids:
        return []
    requests = list(
        db.session.scalars(
            select(ServiceRequest).where(ServiceRequest.id.in_(ids)).order_by(ServiceRequest.id)
        )
    )
    for req in requests:
        db.session.add(
            RequestEvent(
                request_id=req.id,
                actor_id=None,
                at=now,
                kind="status",
                from_status=before.value,
                to_status=after.value,
                note="Completed automatically: no reply within 72 hours of being processed.",
            )
        )
        notify(
            account_agents(req.account_id),
            "request_completed",
            f"Request {req.number} was completed (no reply within 72 hours).",
            path_for("requests.request_detail", number=req.number),
            now=now,
        )
    return requests


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


# --- E-mail outbox ---------------------------------------------------------------------------------

MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes between tries, at most an hour."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


def smtp_sender(message: EmailMessage) -> None:
    cfg = current_app.config
    with smtplib.SMTP(cfg["SMTP_HOST"], int(cfg.get("SMTP_PORT", 587)), timeout=20) as smtp:
        if cfg.get("SMTP_STARTTLS", True):
            smtp.starttls()
        if cfg.get("SMTP_USER"):
            smtp.login(cfg["SMTP_USER"], cfg.get("SMTP_PASSWORD", ""))
        smtp.send_message(message)


def send_outbox(now: datetime | None = None, sender: Callable[[EmailMessage], None] | None = None) -> dict:
    """Send due e-mails. Each is claimed by a conditional UPDATE first, so two senders never both send it;
    a failure is retried later with backoff, and given up after MAX_ATTEMPTS."""
    now = now or utcnow()
    if sender is None:
        if not current_app.config.get("SMTP_HOST"):
            return {"sent": 0, "failed": 0, "skipped": "SMTP not configured"}
        sender = smtp_sender
    due = db.session.scalars(
        select(OutboxEmail.id)
        .where(
            OutboxEmail.sent_at.is_(None),
            OutboxEmail.gave_up_at.is_(None),
            OutboxEmail.next_attempt_at <= now,
        )
        .order_by(OutboxEmail.id)
        .limit(200)
    ).all()
    db.session.commit()
    sent = failed = 0
    for email_id in due:
        claimed = db.session.execute(
            update(OutboxEmail)
            .where(
                OutboxEmail.id == email_id, OutboxEmail.sent_at.is_(None), OutboxEmail.next_attempt_at <= now
            )
            .values(next_attempt_at=now + LEASE, attempts=OutboxEmail.attempts + 1)
            .returning(OutboxEmail.attempts)
            .execution_options(synchronize_session=False)
        ).scalar()
        db.session.commit()
        if claimed is None:
            continue  # another process has it
        email = db.session.get(OutboxEmail, email_id)
        message = EmailMessage()
        message["From"] = current_app.config.get("SMTP_FROM", "portal@localhost")
        message["To"] = email.to_address
        message["Subject"] = email.subject
        message.set_content(email.body)
        try:
            sender(message)
        except Exception as exc:  # noqa: BLE001 — any failure is retried, and logged
            failed += 1
            email.last_error = f"{type(exc).__name__}: {exc}"[:500]
            if claimed >= MAX_ATTEMPTS:
                email.gave_up_at = now
            else:
                email.next_attempt_at = now + backoff(claimed)
            log.warning("E-mail %s to %s failed (attempt %s): %s", email.id, email.to_address, claimed, exc)
        else:
            sent += 1
            email.sent_at = now
            email.last_error = None
        db.session.commit()
    return {"sent": sent, "failed": failed}


# --- Running them ----------------------------------------------------------------------------------

JOBS: dict[str, Callable] = {
    "overdue-refunds": flag_overdue_refunds,
    "follow-up-eligible": flag_follow_up_eligible,
    "auto-complete-requests": auto_complete_requests,
}


def run_job(name: str, now: datetime | None = None):
    """Run one job in its own transaction; returns what it changed."""
    try:
        result = JOBS[name](now)
        db.session.commit()
        return result
    except Exception:
        db.session.rollback()
        raise


def run_all(now: datetime | None = None) -> dict[str, object]:
    """Every deadline job once, then the outbox (what `flask run-jobs` does)."""
    results = {name: run_job(name, now) for name in JOBS}
    results["send-outbox"] = send_outbox(now)
    return results


def _in_context(app: Flask, name: str):
    def job():
        with app.app_context():
            try:
                if name == "send-outbox":
                    send_outbox()
                else:
                    run_job(name)
            except Exception:
                log.exception("Job %s failed", name)

    return job


def configure_scheduler(app: Flask, scheduler) -> None:
    interval = int(app.config.get("JOB_INTERVAL_SECONDS", 60))
    outbox_interval = int(app.config.get("OUTBOX_INTERVAL_SECONDS", 30))
    for name in JOBS:
        scheduler.add_job(
            _in_context(app, name), "interval", seconds=interval, id=name, max_instances=1, coalesce=True
        )
    scheduler.add_job(
        _in_context(app, "send-outbox"),
        "interval",
        seconds=outbox_interval,
        id="send-outbox",
        max_instances=1,
        coalesce=True,
    )


def start_in_process(app: Flask):
    """For the single-process demo (`make run`): a background scheduler inside the web process."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
    configure_scheduler(app, scheduler)
    scheduler.start()
    return scheduler
