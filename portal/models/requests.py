"""Service requests: admin-managed categories, the request with its passengers, its thread (messages,
attachments, events) and the quotes operations post on Cancel & Refund requests."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.money import Money
from portal.domain.requests import (
    BEHAVIOUR_LABELS,
    OPEN_STATUSES,
    QUOTE_STATUS_LABELS,
    STATUS_LABELS,
    CategoryBehaviour,
    QuoteStatus,
    RequestStatus,
    agency_may_answer_quote,
    agency_may_cancel,
    agency_may_reply,
    agency_reply_reopens,
    auto_complete_at,
    behaviour_rule,
    cancel_refusal,
    created_by_request,
    is_open,
    may_auto_complete,
    quote_expired,
    quote_expires_at,
)
from portal.extensions import db
from portal.models.accounts import Account, User
from portal.models.bookings import Booking, Passenger
from portal.models.documents import Document
from portal.models.types import Amount, UTCDateTime, currency_check

_STATUSES = ", ".join(f"'{s.value}'" for s in RequestStatus)
_OPEN = ", ".join(f"'{s.value}'" for s in sorted(OPEN_STATUSES))
_BEHAVIOURS = ", ".join(f"'{b.value}'" for b in CategoryBehaviour)
_QUOTE_STATUSES = ", ".join(f"'{s.value}'" for s in QuoteStatus)
OPEN_WHERE = f"status IN ({_OPEN})"


class RequestCategory(db.Model):
    """A group (no parent) or a category agents can choose (inside a group)."""

    __tablename__ = "request_category"
    __table_args__ = (CheckConstraint(f"behaviour in ({_BEHAVIOURS})", name="behaviour_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    label: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("request_category.id"), index=True)
    behaviour: Mapped[str] = mapped_column(String(20), default=CategoryBehaviour.GENERAL.value)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[RequestCategory | None] = relationship(remote_side=[id])

    @property
    def is_group(self) -> bool:
        return self.parent_id is None

    @property
    def behaviour_label(self) -> str:
        return BEHAVIOUR_LABELS[CategoryBehaviour(self.behaviour)]

    @property
    def rule(self):
        return behaviour_rule(self.behaviour)

    @property
    def full_label(self) -> str:
        return f"{self.parent.label} › {self.label}" if self.parent is not None else self.label


request_passenger = Table(
    "service_request_passenger",
    db.metadata,
    Column("request_id", ForeignKey("service_request.id", ondelete="CASCADE"), primary_key=True),
    Column("passenger_id", ForeignKey("passenger.id"), primary_key=True),
)


class ServiceRequest(db.Model):
    __tablename__ = "service_request"
    __table_args__ = (
        CheckConstraint(f"status in ({_STATUSES})", name="status_known"),
        # One open request per booking and category: two tabs or two agents at once get one.
        Index(
            "uq_service_request_open",
            "booking_id",
            "category_id",
            unique=True,
            sqlite_where=db.text(OPEN_WHERE),
            postgresql_where=db.text(OPEN_WHERE),
        ),
        # My Requests (newest activity first per account) and the operations queue (by status).
        Index("ix_service_request_account_activity", "account_id", "last_activity_at", "id"),
        Index("ix_service_request_status_created", "status", "created_at", "id"),
        Index("ix_service_request_created", "created_at", "id"),
        # The 72-hour auto-completion job reads only Processed requests, through this index.
        Index(
            "ix_service_request_processed",
            "processed_at",
            sqlite_where=db.text("status = 'processed'"),
            postgresql_where=db.text("status = 'processed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(String(12), unique=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("request_category.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.NEW.value)
    description: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the agency sees as "last activity": internal notes do not move it.
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When it became Processed: the 72-hour auto-completion counts from here.
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking] = relationship()
    account: Mapped[Account] = relationship()
    category: Mapped[RequestCategory] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    passengers: Mapped[list[Passenger]] = relationship(
        secondary=request_passenger, order_by="Passenger.position"
    )
    messages: Mapped[list[RequestMessage]] = relationship(
        back_populates="request", order_by="RequestMessage.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="RequestEvent.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list[RequestAttachment]] = relationship(
        back_populates="request", order_by="RequestAttachment.id", cascade="all, delete-orphan"
    )
    quotes: Mapped[list[RequestQuote]] = relationship(
        back_populates="request", order_by="RequestQuote.id", cascade="all, delete-orphan"
    )
    # Every refund linked to the request (Refund.request_id): those it created, and a follow-up's refund.
    refunds = relationship(
        "Refund", primaryjoin="Refund.request_id == ServiceRequest.id", order_by="Refund.id", viewonly=True
    )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[RequestStatus(self.status)]

    @property
    def is_open(self) -> bool:
        return is_open(self.status)

    @property
    def created_refund_codes(self) -> list[str]:
        """The codes of the refunds this request created (on submit, or by an accepted quote)."""
        return [r.code for r in self.refunds if created_by_request(r.path)]

    @property
    def agency_may_cancel(self) -> bool:
        """Cancel request is offered to the agency: only while New, and only if it created no refund."""
        return agency_may_cancel(self.status, self.created_refund_codes)

    @property
    def cancel_refusal(self) -> str | None:
        """Why Cancel request is not offered although the request is New (its refund exists), or None."""
        return cancel_refusal(self.status, self.created_refund_codes)

    @property
    def open_quote_valid_until(self) -> date | None:
        quote = self.open_quote
        return quote.valid_until if quote is not None else None

    @property
    def auto_completes_at(self) -> datetime | None:
        """When the 72-hour job will complete the request if nobody replies; None unless Processed."""
        return auto_complete_at(self.status, self.processed_at, self.open_quote_valid_until)

    def may_auto_complete(self, now: datetime) -> bool:
        """Whether the 72-hour job completes it now (an open quote holds it until it expires)."""
        return may_auto_complete(self.status, self.processed_at, self.open_quote_valid_until, now)

    @property
    def agency_may_reply(self) -> bool:
        """The agency may add to the thread (while the request is open: the workflow table)."""
        return agency_may_reply(self.status)

    @property
    def agency_reply_reopens(self) -> bool:
        """An agency reply now returns the request to In process (the workflow table)."""
        return agency_reply_reopens(self.status)

    @property
    def open_quote(self) -> RequestQuote | None:
        return next((q for q in self.quotes if q.status == QuoteStatus.OPEN), None)

    def quote_by_id(self, quote_id: int) -> RequestQuote | None:
        """This request's quote with this id, or None (another request's quote is not this one's)."""
        return next((q for q in self.quotes if q.id == quote_id), None)


class RequestMessage(db.Model):
    """A message in a request's thread. Internal notes are for operations only."""

    __tablename__ = "request_message"
    __table_args__ = (Index("ix_request_message_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(default=False)
    from_operations: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    request: Mapped[ServiceRequest] = relationship(back_populates="messages")
    author: Mapped[User] = relationship()
    attachments: Mapped[list[RequestAttachment]] = relationship(
        back_populates="message", order_by="RequestAttachment.id"
    )

    @property
    def documents(self) -> list[Document]:
        """The files attached to this message."""
        return [a.document for a in self.attachments]


class RequestAttachment(db.Model):
    """A document in a request: with the description (no message) or on a message."""

    __tablename__ = "request_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("request_message.id"), index=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), unique=True)

    request: Mapped[ServiceRequest] = relationship(back_populates="attachments")
    message: Mapped[RequestMessage | None] = relationship(back_populates="attachments")
    document: Mapped[Document] = relationship()


class RequestEvent(db.Model):
    """One change in a request's life (created, taken, status, quote, refund); appended, never changed."""

    __tablename__ = "request_event"
    __table_args__ = (Index("ix_request_event_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))

    request: Mapped[ServiceRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    @property
    def to_label(self) -> str:
        return STATUS_LABELS[RequestStatus(self.to_status)]

    @property
    def status_changed(self) -> bool:
        return self.from_status is not None and self.from_status != self.to_status


class RequestQuote(db.Model):
    """A quote operations post on a Cancel & Refund request; the agency accepts or declines it."""

    __tablename__ = "request_quote"
    __table_args__ = (
        CheckConstraint(f"status in ({_QUOTE_STATUSES})", name="status_known"),
        currency_check(),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_request.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default=QuoteStatus.OPEN.value)
    currency: Mapped[str] = mapped_column(String(3))
    valid_until: Mapped[date]
    note: Mapped[str | None] = mapped_column(Text)
    posted_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))

    request: Mapped[ServiceRequest] = relationship(back_populates="quotes")
    lines: Mapped[list[RequestQuoteLine]] = relationship(
        back_populates="quote", order_by="RequestQuoteLine.id", cascade="all, delete-orphan"
    )
    posted_by: Mapped[User] = relationship(foreign_keys=[posted_by_id])
    refund = relationship("Refund", foreign_keys=[refund_id])

    @property
    def status_label(self) -> str:
        return QUOTE_STATUS_LABELS[QuoteStatus(self.status)]

    @property
    def total(self) -> Money:
        """The sum of the lines, in the quote's currency."""
        return sum((line.amount_money for line in self.lines), Money.zero(self.currency))

    def is_expired(self, now: datetime) -> bool:
        """Past its validity (through the whole last day, wherever the agency is: domain rule)."""
        return quote_expired(self.valid_until, now)

    @property
    def expires_at(self) -> datetime:
        """The instant after which it can no longer be answered (the end of its last day at UTC−12)."""
        return quote_expires_at(self.valid_until)

    def agency_may_answer(self, now: datetime) -> bool:
        """Accept and Decline are open to the agency now (the request's status, the quote's, its expiry)."""
        return agency_may_answer_quote(self.request.status, self.status, self.valid_until, now)


class RequestQuoteLine(db.Model):
    __tablename__ = "request_quote_line"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("request_quote.id"), index=True)
    passenger_id: Mapped[int] = mapped_column(ForeignKey("passenger.id"))
    amount: Mapped[Decimal] = mapped_column(Amount)

    quote: Mapped[RequestQuote] = relationship(back_populates="lines")
    passenger: Mapped[Passenger] = relationship()

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.quote.currency)


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete a request event or message; a correction must be a new row."""


@event.listens_for(Session, "before_flush")
def _thread_is_append_only(session, flush_context, instances):
    for obj in session.deleted:
        if isinstance(obj, RequestEvent | RequestMessage):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only and cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, RequestEvent | RequestMessage) and session.is_modified(
            obj, include_collections=False
        ):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only and cannot be changed")
