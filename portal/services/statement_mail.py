"""Statements by e-mail (issue 15): who receives an account's statement and how often, and the job's two
steps — which accounts are due, and queueing one account's period (claimed by a unique row, so two job
runners never both queue it). The e-mails go through the outbox (portal/jobs.py sends them).

Flushes, never commits: the job in portal/jobs.py commits after each account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.clock import utcnow
from portal.domain.accounts import parse_email_list
from portal.domain.errors import DomainError, NotPermitted
from portal.domain.ledger import period_bounds
from portal.domain.spreadsheet import xlsx_document
from portal.domain.statement_mail import (
    SCHEDULE_LABELS,
    Schedule,
    due_period,
    parse_schedule,
    recipients_refusal,
    statement_subject,
    statement_summary,
)
from portal.extensions import db
from portal.models import Account, StatementMailing, User
from portal.services import audit
from portal.services.finance import statement, statement_rows
from portal.services.notifications import email_enabled, queue_email

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- Recipients and schedule ---------------------------------------------------------------------------


def may_set_delivery(user: User, account: Account) -> bool:
    """Admins set it for any account, an agency's own admin for its account."""
    return user.is_admin or (user.is_agency_admin and user.account_id == account.id)


def apply_delivery(account: Account, *, recipients: str, schedule: str | None) -> list[str]:
    """Validate and set where and how often the account's statements go (None keeps the schedule).
    Returns what changed, in words; changes nothing when an input is refused."""
    addresses = parse_email_list(recipients, field="statement_emails")
    chosen = Schedule(account.statement_schedule) if schedule is None else parse_schedule(schedule)
    refusal = recipients_refusal(chosen, addresses)
    if refusal:
        raise DomainError(refusal, field="statement_emails")
    changes = []
    joined = "\n".join(addresses)
    if joined != account.statement_emails:
        changes.append(f"statements to {', '.join(addresses) or '—'}")
        account.statement_emails = joined
    if chosen.value != account.statement_schedule:
        changes.append(f"statements {SCHEDULE_LABELS[chosen].lower()}")
        account.statement_schedule = chosen.value
    return changes


def set_delivery(account: Account, *, recipients: str, schedule: str, by: User) -> list[str]:
    """Statements by e-mail, as an admin or the agency's admin sets them (written to the audit trail)."""
    if not may_set_delivery(by, account):
        raise NotPermitted("Only an admin or the agency's own admin sets where statements go.")
    changes = apply_delivery(account, recipients=recipients, schedule=schedule)
    audit.record_account_changes(account, changes, by=by)
    return changes


def recent_mailings(account: Account, limit: int = 12) -> list[StatementMailing]:
    """The periods last queued for the account, newest first."""
    return list(
        db.session.scalars(
            select(StatementMailing)
            .where(StatementMailing.account_id == account.id)
            .order_by(StatementMailing.period_end.desc(), StatementMailing.id.desc())
            .limit(limit)
        )
    )


# --- The job ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueStatement:
    account_id: int
    start: date
    end: date


def due_statements(now: datetime | None = None) -> list[DueStatement]:
    """Every active account with a schedule and recipients whose last whole period was not queued yet
    (two queries, whatever the number of accounts)."""
    if not email_enabled():
        return []
    now = now or utcnow()
    zone = current_app.config["TIMEZONE"]
    accounts = db.session.execute(
        select(Account.id, Account.statement_schedule)
        .where(
            Account.active, Account.statement_schedule != Schedule.OFF.value, Account.statement_emails != ""
        )
        .order_by(Account.id)
    ).all()
    wanted = {}
    for account_id, schedule in accounts:
        period = due_period(schedule, now, zone)
        if period is not None:
            wanted[account_id] = period
    if not wanted:
        return []
    oldest = min(start for start, _ in wanted.values()) - timedelta(days=1)
    done = set(
        db.session.execute(
            select(
                StatementMailing.account_id, StatementMailing.period_start, StatementMailing.period_end
            ).where(StatementMailing.account_id.in_(list(wanted)), StatementMailing.period_start >= oldest)
        ).all()
    )
    return [DueStatement(a, s, e) for a, (s, e) in wanted.items() if (a, s, e) not in done]


def queue_statement(due: DueStatement, now: datetime | None = None) -> int:
    """Claim the account's period and queue its statement to each recipient (XLSX attached, a summary in
    the body). Returns the number of e-mails queued: 0 when another runner claimed the period first."""
    now = now or utcnow()
    account = db.session.get(Account, due.account_id)
    recipients = account.statement_addresses
    try:
        with db.session.begin_nested():
            db.session.add(
                StatementMailing(
                    account_id=account.id,
                    period_start=due.start,
                    period_end=due.end,
                    recipients="\n".join(recipients),
                    created_at=now,
                )
            )
    except IntegrityError:
        return 0  # the unique row is there: another runner queued this period
    zone = current_app.config["TIMEZONE"]
    statements = statement(account, *period_bounds(due.start, due.end, zone))
    workbook = xlsx_document(
        [("Statement", statement_rows(account, statements, due.start, due.end, zone))], bold_first_row=False
    )
    body = statement_summary(
        account_code=account.code,
        account_name=account.name,
        start=due.start,
        end=due.end,
        zone=zone,
        statements=statements,
    )
    name = f"statement-{account.code}-{due.start:%Y%m%d}-{due.end:%Y%m%d}.xlsx"
    subject = statement_subject(account.code, due.start, due.end)
    for address in recipients:
        queue_email(address, subject, body, now=now, attachment=(name, XLSX_TYPE, workbook))
    return len(recipients)
