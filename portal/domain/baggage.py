"""Baggage bought after ticketing (SPEC 6): who may buy what, the life of an order, and how it is paid.

Pure Python: the caller passes plain values (statuses, types, an aware "now") and gets a refusal
message, a status or a typed error back. Every rule that can be a table is one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from portal.domain.errors import Conflict

# --- Life of an order -----------------------------------------------------------------------------------


class BaggageStatus(StrEnum):
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    FAILED = "failed"


STATUS_LABELS: Mapping[BaggageStatus, str] = MappingProxyType(
    {
        BaggageStatus.REQUESTED: "Requested",
        BaggageStatus.CONFIRMED: "Confirmed",
        BaggageStatus.FAILED: "Failed",
    }
)

# A failed order holds nothing: the passenger's segment may be ordered again.
LIVE_STATUSES = frozenset({BaggageStatus.REQUESTED, BaggageStatus.CONFIRMED})


class BaggageAction(StrEnum):
    CONFIRM = "confirm"
    FAIL = "fail"


ACTION_LABELS: Mapping[BaggageAction, str] = MappingProxyType(
    {BaggageAction.CONFIRM: "Confirm", BaggageAction.FAIL: "Fail"}
)

TRANSITIONS: Mapping[tuple[BaggageStatus, BaggageAction], BaggageStatus] = MappingProxyType(
    {
        (BaggageStatus.REQUESTED, BaggageAction.CONFIRM): BaggageStatus.CONFIRMED,
        (BaggageStatus.REQUESTED, BaggageAction.FAIL): BaggageStatus.FAILED,
    }
)


class BaggageTransitionError(Conflict):
    """An action the order's current status does not allow; the message is fit for a user."""

    def __init__(self, status: BaggageStatus, action: BaggageAction):
        self.status, self.action = status, action
        verb = {BaggageAction.CONFIRM: "confirmed", BaggageAction.FAIL: "failed"}[action]
        super().__init__(
            f"This baggage order is already {STATUS_LABELS[status].lower()}; it cannot be {verb} again."
        )


def next_status(status: BaggageStatus | str, action: BaggageAction | str) -> BaggageStatus:
    """The status an order moves to when `action` is taken; BaggageTransitionError if not allowed."""
    status, action = BaggageStatus(status), BaggageAction(action)
    try:
        return TRANSITIONS[status, action]
    except KeyError:
        raise BaggageTransitionError(status, action) from None


def refund_started_reason(refund_code: str) -> str:
    """Why an open order is failed when its passenger's flight goes into a refund (the agency sees it)."""
    return f"Refund {refund_code} started for this flight."


def confirm_refusal(live_refund_code: str | None) -> str | None:
    """Why an order cannot be confirmed: its passenger's flight is in a live refund; else None.

    A refunded flight is not flown, so baggage on it would be debited for nothing; the refund fails the
    open order when it starts, and this stops a confirmation that comes anyway (an older order, a race).
    """
    if live_refund_code is None:
        return None
    return (
        f"This baggage cannot be confirmed: refund {live_refund_code} started for this flight. Fail the "
        "order instead."
    )


# --- Paying for it ----------------------------------------------------------------------------------------


class Settlement(StrEnum):
    BALANCE = "balance"  # a ledger debit on the account's deposit
    CARD = "card"  # the airline charges the virtual card; nothing moves on the balance


SETTLEMENT_BY_CHANNEL: Mapping[str, Settlement] = MappingProxyType(
    {"deposit": Settlement.BALANCE, "vcc": Settlement.CARD, "vcc_passthrough": Settlement.CARD}
)

SETTLEMENT_LABELS: Mapping[Settlement, str] = MappingProxyType(
    {Settlement.BALANCE: "Debited from the balance", Settlement.CARD: "Charged to the card"}
)


def settlement_for(payment_channel: str) -> Settlement:
    """How a confirmed order is paid: deposit orders are debited, card orders are charged to the card."""
    try:
        return SETTLEMENT_BY_CHANNEL[payment_channel]
    except KeyError:
        raise ValueError(f"unknown payment channel: {payment_channel!r}") from None


# --- Who may buy what -------------------------------------------------------------------------------------


class Refusal(StrEnum):
    BOOKING_NOT_TICKETED = "booking_not_ticketed"
    INFANT = "infant"
    SEGMENT_CANCELLED = "segment_cancelled"
    DEPARTED = "departed"
    IN_REFUND = "in_refund"
    ALREADY_ORDERED = "already_ordered"
    OTHER_AIRLINE = "other_airline"
    OPTION_INACTIVE = "option_inactive"
    OTHER_CURRENCY = "other_currency"


REFUSAL_MESSAGES: Mapping[Refusal, str] = MappingProxyType(
    {
        Refusal.BOOKING_NOT_TICKETED: (
            "Baggage can be added only to a ticketed booking; this one is cancelled."
        ),
        Refusal.INFANT: "Baggage cannot be bought for an infant: infants travel on an adult's allowance.",
        Refusal.SEGMENT_CANCELLED: "The airline cancelled this flight, so no baggage can be added to it.",
        Refusal.DEPARTED: "This flight has already departed; baggage can be added only before departure.",
        Refusal.IN_REFUND: "This passenger's flight is in a refund, so no baggage can be added to it.",
        Refusal.ALREADY_ORDERED: (
            "Baggage was already ordered for this passenger on this flight; only one purchase per "
            "passenger and flight is possible."
        ),
        Refusal.OTHER_AIRLINE: "That baggage option is not from this booking's airline.",
        Refusal.OPTION_INACTIVE: "The airline no longer offers that baggage option. Choose another one.",
        Refusal.OTHER_CURRENCY: (
            "That baggage option is priced in another currency than the booking, so it cannot be bought "
            "here. Raise a request if the passenger needs it."
        ),
    }
)


# The same reasons, short enough for a disabled choice in a list.
REFUSAL_SHORT: Mapping[Refusal, str] = MappingProxyType(
    {
        Refusal.BOOKING_NOT_TICKETED: "booking cancelled",
        Refusal.INFANT: "not for infants",
        Refusal.SEGMENT_CANCELLED: "cancelled by the airline",
        Refusal.DEPARTED: "departed",
        Refusal.IN_REFUND: "in a refund",
        Refusal.ALREADY_ORDERED: "already ordered",
        Refusal.OTHER_AIRLINE: "another airline's option",
        Refusal.OPTION_INACTIVE: "no longer offered",
        Refusal.OTHER_CURRENCY: "priced in another currency",
    }
)


@dataclass(frozen=True, slots=True)
class BaggageCase:
    """Everything the rules look at for one passenger, one segment and one catalogue option."""

    booking_status: str
    passenger_type: str
    segment_status: str
    departure_utc: datetime
    now: datetime
    booking_airline: str
    option_airline: str
    option_active: bool
    option_currency: str
    booking_currency: str
    in_live_refund: bool = False
    already_ordered: bool = False


def _aware(name: str, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def coupon_refusal(
    *,
    booking_status: str,
    passenger_type: str,
    segment_status: str,
    departure_utc: datetime,
    now: datetime,
    in_live_refund: bool = False,
    already_ordered: bool = False,
) -> Refusal | None:
    """Why this passenger cannot have baggage added on this segment, whatever the option, or None."""
    if booking_status != "ticketed":
        return Refusal.BOOKING_NOT_TICKETED
    if passenger_type == "INF":
        return Refusal.INFANT
    if segment_status == "cancelled":
        return Refusal.SEGMENT_CANCELLED
    if _aware("departure_utc", departure_utc) <= _aware("now", now):
        return Refusal.DEPARTED
    if in_live_refund:
        return Refusal.IN_REFUND
    if already_ordered:
        return Refusal.ALREADY_ORDERED
    return None


def option_refusal(
    *,
    booking_airline: str,
    option_airline: str,
    option_active: bool,
    option_currency: str,
    booking_currency: str,
) -> Refusal | None:
    """Why this catalogue option cannot be sold on this booking, or None."""
    if option_airline != booking_airline:
        return Refusal.OTHER_AIRLINE
    if not option_active:
        return Refusal.OPTION_INACTIVE
    if option_currency != booking_currency:
        # Converting would need a rate the portal does not have; showing a guess as a price is worse.
        return Refusal.OTHER_CURRENCY
    return None


def refusal(case: BaggageCase) -> Refusal | None:
    """The first rule the purchase breaks (passenger and flight first, then the option), or None."""
    return coupon_refusal(
        booking_status=case.booking_status,
        passenger_type=case.passenger_type,
        segment_status=case.segment_status,
        departure_utc=case.departure_utc,
        now=case.now,
        in_live_refund=case.in_live_refund,
        already_ordered=case.already_ordered,
    ) or option_refusal(
        booking_airline=case.booking_airline,
        option_airline=case.option_airline,
        option_active=case.option_active,
        option_currency=case.option_currency,
        booking_currency=case.booking_currency,
    )
