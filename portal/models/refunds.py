"""Refunds: their coupons (one live refund per coupon), quote lines, events and claim reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.money import Money
from portal.domain.refunds import (
    AMOUNT_BASIS_LABELS,
    AMOUNT_BASIS_TITLES,
    FINAL_STATUSES,
    PATH_LABELS,
    QUOTE_CASE_LABELS,
    STATUS_LABELS,
    AmountBasis,
    QuoteCase,
    RefundAction,
    RefundPath,
    RefundStatus,
    action_label,
    actual_amount,
    allowed_actions,
    credit_note,
    is_operator_path,
    path_group_label,
    shown_amount,
    shown_overdue,
)
from portal.extensions import db
from portal.models.accounts import Account, User
from portal.models.bookings import Booking, Passenger, Segment
from portal.models.documents import Document
from portal.models.types import Amount, UTCDateTime, currency_check

_STATUSES = ", ".join(f"'{s.value}'" for s in RefundStatus)
_PATHS = ", ".join(f"'{p.value}'" for p in RefundPath)


class RefundReason(db.Model):
    """An admin-managed reason offered on the Refund Claim form."""

    __tablename__ = "refund_reason"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # Airline schedule change or cancellation: the refund is free of fees.
    involuntary: Mapped[bool] = mapped_column(default=False)


@dataclass(frozen=True)
class RowActions:
    """A queue row's action cell, less the refund's id: the actions' values and buttons, the currency the
    airline's amount is typed in and what Credit balance will do. Rows with equal RowActions differ only
    by their id, so the queue renders each such cell once, with `id` (a placeholder) where the refund's id
    goes, and fills the id in per row (templates/operations/_refund_rows.html)."""

    buttons: tuple[tuple[str, str], ...]  # (action value, its button), in queue order
    currency: str
    credit_preview: str

    id: ClassVar[str] = "~ID~"


class RefundShown:
    """What a refund shows, wherever it is read from: a Refund, or a row of the operations queue read as
    plain columns (services.refunds.QueueRow). Both have the refund's columns under the same names and say
    which payment channel the order was paid by (`order_payment_channel`); the rules are the domain's.
    The columns it reads: status, path, currency, involuntary, created_at, estimated_amount,
    airline_amount, credited_amount, service_fee."""

    @property
    def order_payment_channel(self) -> str:
        raise NotImplementedError

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[RefundStatus(self.status)]

    @property
    def path_label(self) -> str:
        return PATH_LABELS[RefundPath(self.path)]

    @property
    def actions(self) -> tuple[RefundAction, ...]:
        """What operations may do next, in queue order: exactly the domain's allowed actions."""
        return allowed_actions(self.status)

    def action_label(self, action: RefundAction | str) -> str:
        """An action's button for this refund ("Close — paid to card" for Credit balance on a card order)."""
        return action_label(action, payment_channel=self.order_payment_channel)

    @property
    def row_actions(self) -> RowActions:
        """The action cell of this refund's queue row, without its id (RowActions)."""
        return RowActions(
            buttons=tuple((action.value, self.action_label(action)) for action in self.actions),
            currency=self.currency,
            credit_preview=self.credit_preview,
        )

    def is_overdue(self, now: datetime) -> bool:
        """Shown overdue in the queue: still waiting to be submitted 4 hours after it was received."""
        return shown_overdue(self.status, self.created_at, now)

    # --- Amounts, as Money ---

    def _money(self, amount: Decimal | None) -> Money | None:
        return Money.of(amount, self.currency)

    @property
    def estimate(self) -> Money | None:
        """The quote as accepted; None when it could not be quoted (the airline's amount applies)."""
        return self._money(self.estimated_amount)

    @property
    def airline_money(self) -> Money | None:
        return self._money(self.airline_amount)

    @property
    def credited_money(self) -> Money | None:
        return self._money(self.credited_amount)

    @property
    def service_fee_money(self) -> Money:
        return Money(self.service_fee, self.currency)

    def _shown(self) -> tuple[Money | None, AmountBasis]:
        return shown_amount(
            self.status,
            estimate=self.estimate,
            airline_amount=self.airline_money,
            credited_amount=self.credited_money,
        )

    @property
    def shown_amount(self) -> Money | None:
        """The one amount a refund shows: the actual amount once known, else the estimate."""
        return self._shown()[0]

    @property
    def shown_amount_note(self) -> str:
        """How to read shown_amount: 'est.', 'from airline', 'credited', 'to card' (or who decides it)."""
        return AMOUNT_BASIS_LABELS[self._shown()[1]]

    @property
    def shown_amount_title(self) -> str:
        """'Estimated amount', 'Airline refund amount' or 'Refunded amount'."""
        return AMOUNT_BASIS_TITLES[self._shown()[1]]

    @property
    def credit_preview(self) -> str:
        """What Credit balance will do (paid to the card, or less the service fee); '' when plain."""
        return credit_note(
            path=self.path,
            payment_channel=self.order_payment_channel,
            airline_amount=self.airline_money,
            service_fee=self.service_fee_money,
            involuntary=self.involuntary,
        )


class Refund(RefundShown, db.Model):
    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint(f"status in ({_STATUSES})", name="status_known"),
        CheckConstraint(f"path in ({_PATHS})", name="path_known"),
        CheckConstraint("airline_amount IS NULL OR airline_amount >= 0", name="airline_amount_not_negative"),
        currency_check(),
        # Operations queue: status filter, newest first; Finance lists by account.
        Index("ix_refund_status_created", "status", "created_at"),
        Index("ix_refund_account_created", "account_id", "created_at"),
        # Finance tabs (operator or agent paths), for one account or all.
        Index("ix_refund_path_created", "path", "created_at", "id"),
        Index("ix_refund_account_path_created", "account_id", "path", "created_at"),
        # Finance → Refunds for staff (every account, newest first).
        Index("ix_refund_created", "created_at", "id"),
        # Finance → Refunds' submitted-date filter (submitted to the airline), for all or one account.
        Index("ix_refund_submitted", "submitted_at", "id"),
        Index("ix_refund_account_submitted", "account_id", "submitted_at"),
        # The deadline jobs touch only the rows they may flag, through these partial indexes.
        Index(
            "ix_refund_overdue_candidates",
            "created_at",
            sqlite_where=db.text("status = 'requested' AND overdue_at IS NULL"),
            postgresql_where=db.text("status = 'requested' AND overdue_at IS NULL"),
        ),
        Index(
            "ix_refund_follow_up_candidates",
            "created_at",
            sqlite_where=db.text(
                "status IN ('requested', 'submitted', 'received') AND follow_up_eligible_at IS NULL"
            ),
            postgresql_where=db.text(
                "status IN ('requested', 'submitted', 'received') AND follow_up_eligible_at IS NULL"
            ),
        ),
        Index(
            "ix_refund_overdue",
            "overdue_at",
            sqlite_where=db.text("overdue_at IS NOT NULL"),
            postgresql_where=db.text("overdue_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(String(20), unique=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    path: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    involuntary: Mapped[bool] = mapped_column(default=False)
    reason_id: Mapped[int | None] = mapped_column(ForeignKey("refund_reason.id"))
    # The quote as accepted: None when it could not be quoted exactly (the airline's amount applies).
    estimated_amount: Mapped[Decimal | None] = mapped_column(Amount)
    service_fee: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"))
    airline_fulfilled_on: Mapped[date | None]
    proof_document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"))
    note: Mapped[str | None] = mapped_column(Text)
    airline_submission_reference: Mapped[str | None] = mapped_column(String(80))
    airline_amount: Mapped[Decimal | None] = mapped_column(Amount)
    airline_refunded_on: Mapped[date | None]
    airline_refund_reference: Mapped[str | None] = mapped_column(String(80))
    credited_amount: Mapped[Decimal | None] = mapped_column(Amount)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # The service request that created it (Cancel & Refund quote, Agent & Passenger Initiated Refund).
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_request.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    # Received by the host: the clock for the 4-hour and 21-day deadlines starts here.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Submitted to the airline: the event that made it `submitted` (Mark submitted to airline), or its
    # creation for agent & passenger refunds, which were submitted before they reached the host. None
    # while still requested. Finance → Refunds' "Submitted" column and date filter.
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set once by the deadline jobs (SPEC 3.5): never cleared, so each is flagged and notified once.
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follow_up_eligible_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship()
    account: Mapped[Account] = relationship()
    reason: Mapped[RefundReason | None] = relationship()
    proof: Mapped[Document | None] = relationship()
    created_by: Mapped[User] = relationship()
    passengers: Mapped[list[RefundPassenger]] = relationship(
        back_populates="refund", order_by="RefundPassenger.id", cascade="all, delete-orphan"
    )
    coupons: Mapped[list[RefundCoupon]] = relationship(
        back_populates="refund", order_by="RefundCoupon.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[RefundEvent]] = relationship(
        back_populates="refund", order_by="RefundEvent.id", cascade="all, delete-orphan"
    )

    @property
    def order_payment_channel(self) -> str:
        return self.booking.payment_channel

    @property
    def is_operator(self) -> bool:
        return is_operator_path(self.path)

    @property
    def is_final(self) -> bool:
        return RefundStatus(self.status) in FINAL_STATUSES

    def group_label(self, operator_name: str) -> str:
        """ "<operator> Initiated" or "Agent & Passenger Initiated" (the refunds list's groups)."""
        return path_group_label(self.path, operator_name)

    @property
    def actual_amount(self) -> Money | None:
        """Credited (or paid to the card) once refunded, the airline's recorded amount before; else None."""
        return actual_amount(
            self.status, airline_amount=self.airline_money, credited_amount=self.credited_money
        )[0]

    def segments_by_passenger(self) -> list[tuple[Passenger, list[Segment]]]:
        grouped: dict[int, tuple[Passenger, list[Segment]]] = {}
        for coupon in self.coupons:
            grouped.setdefault(coupon.passenger_id, (coupon.passenger, []))[1].append(coupon.segment)
        return list(grouped.values())


class RefundPassenger(db.Model):
    """One passenger's line of the quote, as accepted."""

    __tablename__ = "refund_passenger"

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id"), index=True)
    passenger_id: Mapped[int] = mapped_column(ForeignKey("passenger.id"))
    quote_case: Mapped[str] = mapped_column(String(20))
    fare: Mapped[Decimal] = mapped_column(Amount)
    cancellation_fee: Mapped[Decimal] = mapped_column(Amount)
    refundable_taxes: Mapped[Decimal] = mapped_column(Amount)
    service_fee: Mapped[Decimal] = mapped_column(Amount)
    amount: Mapped[Decimal | None] = mapped_column(Amount)

    refund: Mapped[Refund] = relationship(back_populates="passengers")
    passenger: Mapped[Passenger] = relationship()

    @property
    def case_label(self) -> str:
        return QUOTE_CASE_LABELS[QuoteCase(self.quote_case)]

    @property
    def amount_money(self) -> Money | None:
        """This passenger's quoted amount; None when it could not be quoted."""
        return Money.of(self.amount, self.refund.currency)


class RefundCoupon(db.Model):
    """A passenger's segment in a refund. `live` is cleared when the refund is rejected."""

    __tablename__ = "refund_coupon"
    __table_args__ = (
        # The double-refund guard: a coupon is in at most one refund that is not rejected.
        Index(
            "uq_refund_coupon_live",
            "passenger_id",
            "segment_id",
            unique=True,
            sqlite_where=db.text("live"),
            postgresql_where=db.text("live"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id"), index=True)
    passenger_id: Mapped[int] = mapped_column(ForeignKey("passenger.id"))
    segment_id: Mapped[int] = mapped_column(ForeignKey("segment.id"), index=True)
    live: Mapped[bool] = mapped_column(default=True)

    refund: Mapped[Refund] = relationship(back_populates="coupons")
    passenger: Mapped[Passenger] = relationship()
    segment: Mapped[Segment] = relationship()


class RefundEvent(db.Model):
    """One step in a refund's life; appended, never changed."""

    __tablename__ = "refund_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(ForeignKey("refund.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)

    refund: Mapped[Refund] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    @property
    def to_label(self) -> str:
        return STATUS_LABELS[RefundStatus(self.to_status)]
