"""In-app notifications and the e-mail outbox (written with the change, sent after commit)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import utcnow
from portal.domain.statement_mail import period_text
from portal.extensions import db
from portal.models.types import UTCDateTime


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_user_unread", "user_id", "read_at", "id"),
        # The list and the bell: a user's notifications newest first.
        Index("ix_notification_user_created", "user_id", "created_at", "id"),
        # Notices about one thing (a refund, a request) are shown as one group.
        Index("ix_notification_user_topic", "user_id", "topic"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(300))
    # What the notice is about ("refund:RF00000042", "request:SR…"): the list groups a topic's notices.
    topic: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxEmail(db.Model):
    """An e-mail waiting to be sent; claimed with a lease so two senders never send it twice."""

    __tablename__ = "outbox_email"
    __table_args__ = (Index("ix_outbox_email_due", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    gave_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One optional attachment (a statement's workbook), sent as it is stored.
    attachment_name: Mapped[str | None] = mapped_column(String(200))
    attachment_type: Mapped[str | None] = mapped_column(String(100))
    attachment: Mapped[bytes | None] = mapped_column(LargeBinary)


class StatementMailing(db.Model):
    """A statement period queued for an account's recipients: the unique row is the claim, so a period is
    e-mailed once even when two job runners decide at the same moment."""

    __tablename__ = "statement_mailing"
    __table_args__ = (
        UniqueConstraint("account_id", "period_start", "period_end", name="uq_statement_mailing_period"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    recipients: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def period_text(self) -> str:
        return period_text(self.period_start, self.period_end)

    @property
    def recipient_list(self) -> list[str]:
        return self.recipients.split()
