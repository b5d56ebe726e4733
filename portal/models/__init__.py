"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from portal.models import audit  # noqa: F401  (append-only guard)
from portal.models.accounts import Account, LoginAttempt, User
from portal.models.bookings import (
    Airline,
    Ancillary,
    BaggageOption,
    Booking,
    BookingSearchKey,
    Passenger,
    ScheduleChange,
    Segment,
)
from portal.models.documents import Document
from portal.models.ledger import LedgerEntry
from portal.models.refunds import Refund, RefundCoupon, RefundEvent, RefundPassenger, RefundReason

__all__ = [
    "Account",
    "Airline",
    "Ancillary",
    "BaggageOption",
    "Booking",
    "BookingSearchKey",
    "Document",
    "LedgerEntry",
    "LoginAttempt",
    "Passenger",
    "Refund",
    "RefundCoupon",
    "RefundEvent",
    "RefundPassenger",
    "RefundReason",
    "ScheduleChange",
    "Segment",
    "User",
]
