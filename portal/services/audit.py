"""The audit trail: one writer (record) for logins, password and second-factor changes, users, roles,
accounts, API keys and balance adjustments, and the admins' filtered list and CSV of it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.domain.audit import AUDIT_KIND_LABELS, AuditKind
from portal.extensions import db
from portal.models import Account, AuditEvent, User
from portal.services.paging import COUNT_CAP, Page, clamp, count
from portal.services.search import starts_with


def record(
    kind: AuditKind,
    *,
    actor: User | None = None,
    subject: User | None = None,
    account_id: int | None = None,
    email: str | None = None,
    ip: str | None = None,
    detail: str | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Append one entry to the audit trail (in the caller's transaction; never changed afterwards).

    `subject` is the user the event is about (defaults to the actor); its e-mail and account are kept
    on the entry so that the trail reads the same after the user changes.
    """
    subject = subject if subject is not None else actor
    event = AuditEvent(
        at=now or utcnow(),
        kind=AuditKind(kind).value,
        actor_id=actor.id if actor is not None else None,
        subject_user_id=subject.id if subject is not None else None,
        account_id=account_id if account_id is not None else (subject.account_id if subject else None),
        email=(email or (subject.email if subject is not None else None) or None),
        ip=(ip or None) and ip[:64],
        detail=detail[:2000] if detail else None,
    )
    db.session.add(event)
    return event


@dataclass(frozen=True)
class AuditFilters:
    kind: str | None = None
    email: str = ""  # the start of an e-mail address
    account_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def _conditions(filters: AuditFilters, zone: str) -> list:
    conditions = []
    if filters.kind in AUDIT_KIND_LABELS:
        conditions.append(AuditEvent.kind == filters.kind)
    if filters.email:
        conditions.append(starts_with(AuditEvent.email, filters.email.strip().lower()))
    if filters.account_id is not None:
        conditions.append(AuditEvent.account_id == filters.account_id)
    tz = ZoneInfo(zone)
    if filters.date_from:
        conditions.append(AuditEvent.at >= datetime.combine(filters.date_from, time.min, tz))
    if filters.date_to:
        conditions.append(AuditEvent.at < datetime.combine(filters.date_to + timedelta(days=1), time.min, tz))
    return conditions


def _with_people(stmt):
    return stmt.options(
        selectinload(AuditEvent.actor), selectinload(AuditEvent.subject), selectinload(AuditEvent.account)
    )


def search_events(filters: AuditFilters, page: int, per_page: int, zone: str) -> Page:
    """One page of the trail, newest first; the count stops at COUNT_CAP."""
    conditions = _conditions(filters, zone)
    total, more = count(select(AuditEvent.id).where(*conditions), cap=COUNT_CAP)
    page = clamp(page, total, per_page)
    rows = db.session.scalars(
        _with_people(
            select(AuditEvent)
            .where(*conditions)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).all()
    return Page(items=list(rows), total=total, page=page, per_page=per_page, more=more)


EXPORT_HEADERS = ("Time", "Event", "E-mail", "Account", "By", "Address", "Details")


def export_rows(filters: AuditFilters, zone: str, chunk: int = 2000) -> Iterator[tuple]:
    """The filtered trail as spreadsheet rows (headers first), newest first, a chunk at a time."""
    tz = ZoneInfo(zone)
    yield EXPORT_HEADERS
    conditions = _conditions(filters, zone)
    after: tuple[datetime, int] | None = None
    while True:
        stmt = select(AuditEvent).where(*conditions)
        if after is not None:
            stmt = stmt.where(
                (AuditEvent.at < after[0]) | ((AuditEvent.at == after[0]) & (AuditEvent.id < after[1]))
            )
        rows = db.session.scalars(
            _with_people(stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(chunk))
        ).all()
        for e in rows:
            yield (
                e.at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S"),
                e.kind_label,
                e.email or "",
                e.account.code if e.account else "",
                e.actor.email if e.actor else "",
                e.ip or "",
                e.detail or "",
            )
        if len(rows) < chunk:
            return
        after = (rows[-1].at, rows[-1].id)


def record_account_changes(account: Account, changes: list[str], *, by: User | None) -> None:
    """One ACCOUNT_CHANGED entry listing what changed on a client account (nothing when nothing did)."""
    if changes:
        record(
            AuditKind.ACCOUNT_CHANGED,
            actor=by,
            subject=None,
            account_id=account.id,
            detail=f"{account.code}: " + "; ".join(changes),
        )
