"""Batch refund uploads: each upload and every row's outcome, kept with the batch."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.batch import OUTCOME_LABELS, BatchOutcome, outcome_counts
from portal.extensions import db
from portal.models.accounts import Account, User
from portal.models.refunds import Refund
from portal.models.types import UTCDateTime

_OUTCOMES = ", ".join(f"'{o.value}'" for o in BatchOutcome)


class RefundBatch(db.Model):
    """One Initiate a Refund upload by an agent."""

    __tablename__ = "refund_batch"
    __table_args__ = (
        CheckConstraint("file_format in ('csv', 'xlsx')", name="file_format_known"),
        Index("ix_refund_batch_account_created", "account_id", "created_at"),
        Index("ix_refund_batch_account_sha256", "account_id", "file_sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(200))
    file_format: Mapped[str] = mapped_column(String(4))
    file_sha256: Mapped[str] = mapped_column(String(64))
    row_count: Mapped[int]
    created_count: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()
    uploaded_by: Mapped[User] = relationship()
    rows: Mapped[list[RefundBatchRow]] = relationship(
        back_populates="batch", order_by="RefundBatchRow.line", cascade="all, delete-orphan"
    )

    @property
    def code(self) -> str:
        return f"B{self.id:06d}"

    @property
    def outcome_counts(self) -> dict[str, int]:
        """How many rows had each outcome, by label, in the order outcomes are listed (domain)."""
        return {OUTCOME_LABELS[outcome]: n for outcome, n in outcome_counts(self.rows).items()}


class RefundBatchRow(db.Model):
    """One row of an upload as read, with its outcome and, when one was created, the refund."""

    __tablename__ = "refund_batch_row"
    __table_args__ = (CheckConstraint(f"outcome in ({_OUTCOMES})", name="outcome_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("refund_batch.id"), index=True)
    line: Mapped[int]
    order_number: Mapped[str] = mapped_column(String(40))
    passengers: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"), index=True)

    batch: Mapped[RefundBatch] = relationship(back_populates="rows")
    refund: Mapped[Refund | None] = relationship()

    @property
    def outcome_label(self) -> str:
        return OUTCOME_LABELS[BatchOutcome(self.outcome)]
