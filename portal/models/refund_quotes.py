"""Refund quotes given over the API: what was priced, for whom, until when, and the refund it became."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.refunds import RefundPath
from portal.extensions import db
from portal.models.accounts import Account, User
from portal.models.bookings import Booking
from portal.models.refunds import Refund
from portal.models.types import UTCDateTime


class RefundQuote(db.Model):
    """A quote an agency's system asked for, to be used once (POST /refunds) before it expires.

    The quote's figures are not stored: using it computes them again and compares the fingerprint
    (services.refunds.quote_fingerprint), so a changed fare, fee or coupon is noticed, never charged."""

    __tablename__ = "refund_quote"
    __table_args__ = (Index("ix_refund_quote_booking", "booking_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Opaque and unguessable (rq_…): the id the API shows; the integer id never leaves the portal.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id"))
    # The way the refund will be recorded (instant_quote, cancel_refund or free_refund).
    path: Mapped[str] = mapped_column(String(20))
    # The coupons priced, as "P1.S1 P1.S2" (passenger and segment refs).
    coupon_keys: Mapped[str] = mapped_column(Text)
    involuntary: Mapped[bool] = mapped_column(default=False)
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set once, by a conditional UPDATE: a quote makes at most one refund.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"))

    account: Mapped[Account] = relationship()
    user: Mapped[User] = relationship()
    booking: Mapped[Booking] = relationship()
    refund: Mapped[Refund | None] = relationship()

    @property
    def keys(self) -> list[str]:
        return self.coupon_keys.split()

    @property
    def refund_path(self) -> RefundPath:
        return RefundPath(self.path)

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at
