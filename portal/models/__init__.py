"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

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

__all__ = [
    "Account",
    "Airline",
    "Ancillary",
    "BaggageOption",
    "Booking",
    "BookingSearchKey",
    "LoginAttempt",
    "Passenger",
    "ScheduleChange",
    "Segment",
    "User",
]
