"""The account ledger: append-only money movements; the balance is their sum."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.ledger import ENTRY_KIND_LABELS, EntryKind
from portal.domain.money import Money
from portal.extensions import db
from portal.models.accounts import Account
from portal.models.types import Amount, UTCDateTime, currency_check

_KINDS = ", ".join(f"'{kind.value}'" for kind in EntryKind)


class LedgerEntry(db.Model):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint(f"kind in ({_KINDS})", name="kind_known"),
        CheckConstraint("kind != 'refund_credit' OR amount > 0", name="refund_credit_positive"),
        currency_check(),
        Index("ix_ledger_entry_account_time", "account_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    currency: Mapped[str] = mapped_column(String(3))
    amount: Mapped[Decimal] = mapped_column(Amount)  # credit > 0, debit < 0
    kind: Mapped[str] = mapped_column(String(20))
    # At most one credit per refund, whatever happens (unique; NULL for other kinds).
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"), unique=True)
    description: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()

    @property
    def kind_label(self) -> str:
        return ENTRY_KIND_LABELS[EntryKind(self.kind)]

    @property
    def money(self) -> Money:
        """The entry's amount with its currency (credit > 0, debit < 0)."""
        return Money(self.amount, self.currency)
