"""Append-only records: refund events, ledger entries and the audit trail are written once and never
changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.audit import AUDIT_KIND_LABELS, AuditKind
from portal.extensions import db
from portal.models.accounts import Account, User
from portal.models.ledger import LedgerEntry
from portal.models.refunds import RefundEvent
from portal.models.types import UTCDateTime

_KINDS = ", ".join(f"'{kind.value}'" for kind in AuditKind)


class AuditEvent(db.Model):
    """Who did what to whose login, role, keys or balance, and from where (Admin → Audit trail)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        CheckConstraint(f"kind in ({_KINDS})", name="kind_known"),
        Index("ix_audit_event_at", "at", "id"),
        Index("ix_audit_event_kind_at", "kind", "at"),
        Index("ix_audit_event_subject_at", "subject_user_id", "at"),
        Index("ix_audit_event_email_at", "email", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    # Who acted (None: the portal itself, or someone not logged in) and whose user it was about.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    # The e-mail the event is about, also for a failed login of an address no user has.
    email: Mapped[str | None] = mapped_column(String(254))
    ip: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    subject: Mapped[User | None] = relationship(foreign_keys=[subject_user_id])
    account: Mapped[Account | None] = relationship()

    @property
    def kind_label(self) -> str:
        return AUDIT_KIND_LABELS[AuditKind(self.kind)]


APPEND_ONLY = (RefundEvent, LedgerEntry, AuditEvent)


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete an audit record; a correction must be a new record."""


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_append_only(session, flush_context, instances):
    for obj in session.deleted:
        if isinstance(obj, APPEND_ONLY):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only and cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, APPEND_ONLY) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only and cannot be changed")
