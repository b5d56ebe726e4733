"""The scheduler process, and the jobs it runs: the deadlines (portal/services/deadlines.py) and the
e-mail outbox. Each job is a unit of work of its own: it commits once, or rolls back."""

from __future__ import annotations

import http.client
import logging
import smtplib
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import Flask, current_app
from sqlalchemy import select, update

from portal.clock import utcnow
from portal.domain.booking_import import ImportRejected
from portal.domain.webhooks import TIMEOUT_SECONDS
from portal.extensions import db
from portal.models import OutboxEmail, WebhookDelivery
from portal.services import import_jobs, webhooks
from portal.services.api_keys import sweep_call_counters
from portal.services.bookings import import_bookings
from portal.services.deadlines import auto_complete_requests, flag_follow_up_eligible, flag_overdue_refunds
from portal.services.documents import sweep_orphans
from portal.services.idempotency import sweep_idempotent_requests
from portal.services.statement_mail import due_statements, queue_statement
from portal.services.throttle import sweep_counters

log = logging.getLogger(__name__)

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
        if email.attachment is not None:
            maintype, _, subtype = (email.attachment_type or "application/octet-stream").partition("/")
            message.add_attachment(email.attachment, maintype, subtype, filename=email.attachment_name)
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


# --- Webhooks ---------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer, not a 2xx: never follow one (it could point anywhere, inside too)."""

    def redirect_request(self, *args, **kwargs):
        return None


def _pinned_connection(base):
    """An http.client connection class that connects to the address services/webhooks checked for the
    host (TLS still verifies the certificate and sends SNI for the host name)."""

    class Pinned(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)

            def create_connection(address, *rest, **options):
                host, port = address
                return socket.create_connection(
                    (webhooks.connect_address(host, port), port), *rest, **options
                )

            self._create_connection = create_connection

    return Pinned


_PinnedHTTP = _pinned_connection(http.client.HTTPConnection)
_PinnedHTTPS = _pinned_connection(http.client.HTTPSConnection)


class _PinnedHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PinnedHTTP, req)


class _PinnedHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PinnedHTTPS, req, context=self._context)


# No proxy (the address checked must be the one connected to), no redirects, pinned addresses.
_opener = urllib.request.build_opener(
    urllib.request.ProxyHandler({}), _NoRedirects, _PinnedHTTPHandler, _PinnedHTTPSHandler
)


def http_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST and return the response's status code (10 s timeout; redirects not followed)."""
    # S310: the URL was checked to be http(s) (domain/webhooks.url_refusal) when made and before each try.
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(65536)
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def deliver_webhooks(
    now: datetime | None = None, poster: Callable[[str, bytes, dict], int] | None = None
) -> dict:
    """Send each endpoint's first due event, one endpoint after another, until none is due: each is claimed
    by a conditional UPDATE first (one in flight per endpoint, in event order), then signed, posted and
    logged in a transaction of its own."""
    now = now or utcnow()
    poster = poster or http_post
    delivered = failed = 0
    for _ in range(50):  # rounds: a delivered head lets the endpoint's next event go in the same run
        heads = webhooks.due_heads(now)
        db.session.commit()
        sent_any = False
        for delivery_id in heads:
            claimed = webhooks.claim_delivery(delivery_id, now)
            db.session.commit()
            if not claimed:
                continue
            delivery = db.session.get(WebhookDelivery, delivery_id)
            prepared = webhooks.signed_request(delivery, now)
            code = error = None
            if isinstance(prepared, str):
                error = prepared
            else:
                try:
                    code = poster(*prepared)
                except Exception as exc:  # noqa: BLE001 — any failure (timeout, refused) is retried, and logged
                    error = f"{type(exc).__name__}: {exc}"
            webhooks.record_attempt(delivery, now, response_code=code, error=error)
            if delivery.delivered_at is not None:
                delivered += 1
                sent_any = True
            else:
                failed += 1
                log.warning(
                    "Webhook delivery %s failed (attempt %s): %s",
                    delivery.id,
                    delivery.attempts,
                    delivery.last_error,
                )
            db.session.commit()
        if not sent_any:
            break
    return {"delivered": delivered, "failed": failed}


# --- Statements by e-mail ----------------------------------------------------------------------------


def email_statements(now: datetime | None = None) -> dict:
    """Queue each account's statement for its last whole period (daily, weekly or monthly), one account
    per transaction: the period's unique row is claimed first, so a racing runner queues nothing twice.
    The outbox sends them."""
    now = now or utcnow()
    due = due_statements(now)
    db.session.commit()
    queued = accounts = 0
    for item in due:
        count = queue_statement(item, now)
        db.session.commit()
        if count:
            accounts += 1
            queued += count
    return {"accounts": accounts, "emails": queued}


# --- Background booking imports ---------------------------------------------------------------------


def run_imports(now: datetime | None = None) -> dict:
    """Import the waiting files of Admin → Import, oldest first, one after another: each claimed and
    committed as running, then imported in a transaction of its own that also records it as done; a
    refused file is rolled back and recorded with its errors. First, imports whose runner was stopped
    mid-import are recorded as interrupted (import_jobs.sweep_interrupted)."""
    if import_jobs.sweep_interrupted(now):
        db.session.commit()
    imported = refused = 0
    while (job := import_jobs.claim_next(now)) is not None:
        db.session.commit()
        job_id = job.id
        try:
            with import_jobs.file_of(job).open("rb") as stream:
                result = import_bookings(stream, progress=import_jobs.progress_writer(job, stream))
            import_jobs.finish_import(job, result.summary(), now)
            db.session.commit()
            imported += 1
        except ImportRejected as exc:
            db.session.rollback()
            import_jobs.fail_import(job_id, exc.errors, now)
            db.session.commit()
            refused += 1
        except Exception:  # noqa: BLE001 — recorded on the page and logged; the next import still runs
            log.exception("Import %s failed", job_id)
            db.session.rollback()
            import_jobs.fail_import(
                job_id, ["The import stopped on an internal error; nothing was imported."], now
            )
            db.session.commit()
            refused += 1
    return {"imported": imported, "refused": refused}


# --- Running them ----------------------------------------------------------------------------------

JOBS: dict[str, Callable] = {
    "overdue-refunds": flag_overdue_refunds,
    "follow-up-eligible": flag_follow_up_eligible,
    "auto-complete-requests": auto_complete_requests,
    "sweep-uploads": sweep_orphans,
    "sweep-login-counters": sweep_counters,
    "sweep-api-call-counters": sweep_call_counters,
    "deliver-webhooks": deliver_webhooks,
    "sweep-idempotency-keys": sweep_idempotent_requests,
    "email-statements": email_statements,
    "import-bookings": run_imports,
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
