"""Baggage bought through the portal after ticketing: one order per passenger and segment."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.baggage import SETTLEMENT_LABELS, STATUS_LABELS, BaggageStatus, Settlement
from portal.domain.money import Money
from portal.extensions import db
from portal.models.accounts import Account, User
from portal.models.bookings import BaggageOption, Booking, Passenger, Segment
from portal.models.ledger import LedgerEntry
from portal.models.types import Amount, UTCDateTime, currency_check

_STATUSES = ", ".join(f"'{s.value}'" for s in BaggageStatus)
_SETTLEMENTS = ", ".join(f"'{s.value}'" for s in Settlement)


class BaggageOrder(db.Model):
    __tablename__ = "baggage_order"
    __table_args__ = (
        CheckConstraint(f"status in ({_STATUSES})", name="status_known"),
        CheckConstraint(f"settlement IS NULL OR settlement in ({_SETTLEMENTS})", name="settlement_known"),
        CheckConstraint("price >= 0", name="price_not_negative"),
        currency_check(),
        CheckConstraint("status != 'failed' OR failure_reason IS NOT NULL", name="failure_has_reason"),
        # One purchase per passenger and segment: double clicks, two tabs and two agents at once create
        # one order. A failed order frees the slot, so the agent can try again (another option, say).
        Index(
            "uq_baggage_order_live",
            "passenger_id",
            "segment_id",
            unique=True,
            sqlite_where=db.text("status != 'failed'"),
            postgresql_where=db.text("status != 'failed'"),
        ),
        # The operations queue: status filter, oldest first; per account for the account filter.
        Index("ix_baggage_order_status_created", "status", "created_at", "id"),
        Index("ix_baggage_order_account_created", "account_id", "created_at", "id"),
        # The queue's other orders, either way: Requested with Status: Any; the code (BG + the id) with
        # a status or an account (with neither, the primary key).
        Index("ix_baggage_order_created", "created_at", "id"),
        Index("ix_baggage_order_status_id", "status", "id"),
        Index("ix_baggage_order_account_id", "account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    passenger_id: Mapped[int] = mapped_column(ForeignKey("passenger.id"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"))
    option_id: Mapped[int] = mapped_column(ForeignKey("baggage_option.id"))
    # The price as offered when ordered: later catalogue changes do not reprice an order.
    description: Mapped[str] = mapped_column(String(200))
    price: Mapped[Decimal] = mapped_column(Amount)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default=BaggageStatus.REQUESTED.value)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    settlement: Mapped[str | None] = mapped_column(String(10))  # set on confirm
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entry.id"), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship(back_populates="baggage_orders")
    account: Mapped[Account] = relationship()
    passenger: Mapped[Passenger] = relationship()
    segment: Mapped[Segment] = relationship()
    option: Mapped[BaggageOption] = relationship()
    ledger_entry: Mapped[LedgerEntry | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[BaggageStatus(self.status)]

    @property
    def settlement_label(self) -> str | None:
        return SETTLEMENT_LABELS[Settlement(self.settlement)] if self.settlement else None

    @property
    def is_open(self) -> bool:
        return self.status == BaggageStatus.REQUESTED

    @property
    def price_money(self) -> Money:
        """The price as offered when ordered."""
        return Money(self.price, self.currency)
