"""Refund rules (SPEC section 3): statuses and their transitions, the ways a refund starts, which payment
channels allow which path, coupon eligibility, the instant quote and the balance credit at the end.

Pure Python: the caller passes in plain values (statuses, channels, amounts, an aware "now") and gets
values or typed errors back. Every rule that can be a table is one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from types import MappingProxyType

from portal.domain.deadlines import is_overdue
from portal.domain.errors import Conflict
from portal.domain.money import CurrencyMismatch, Money

# --- Life of a refund (SPEC 3.4) -------------------------------------------------------------------------


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    SUBMITTED = "submitted"
    RECEIVED = "received"
    REFUNDED = "refunded"
    REJECTED = "rejected"


FINAL_STATUSES = frozenset({RefundStatus.REFUNDED, RefundStatus.REJECTED})

STATUS_LABELS: Mapping[RefundStatus, str] = MappingProxyType(
    {
        RefundStatus.REQUESTED: "Requested",
        RefundStatus.SUBMITTED: "Submitted to airline",
        RefundStatus.RECEIVED: "Airline refund received",
        RefundStatus.REFUNDED: "Refunded",
        RefundStatus.REJECTED: "Rejected",
    }
)


class RefundAction(StrEnum):
    MARK_SUBMITTED_TO_AIRLINE = "mark_submitted_to_airline"
    RECORD_AIRLINE_REFUND = "record_airline_refund"
    CREDIT_BALANCE = "credit_balance"
    REJECT = "reject"


ACTION_LABELS: Mapping[RefundAction, str] = MappingProxyType(
    {
        RefundAction.MARK_SUBMITTED_TO_AIRLINE: "Mark submitted to airline",
        RefundAction.RECORD_AIRLINE_REFUND: "Record airline refund",
        RefundAction.CREDIT_BALANCE: "Credit balance",
        RefundAction.REJECT: "Reject",
    }
)

# The last step of a card order (VCC, VCC Passthrough) is the same credit_balance transition, but nothing
# is credited: the airline paid the card. Its button says so (action_label()).
CARD_CLOSE_LABEL = "Close — paid to card"

# How each action reads after "A refund that is <status> cannot ...".
_ACTION_REFUSED: Mapping[RefundAction, str] = MappingProxyType(
    {
        RefundAction.MARK_SUBMITTED_TO_AIRLINE: "be marked as submitted to the airline",
        RefundAction.RECORD_AIRLINE_REFUND: "have an airline refund recorded",
        RefundAction.CREDIT_BALANCE: "be credited to the balance",
        RefundAction.REJECT: "be rejected",
    }
)

TRANSITIONS: Mapping[tuple[RefundStatus, RefundAction], RefundStatus] = MappingProxyType(
    {
        (RefundStatus.REQUESTED, RefundAction.MARK_SUBMITTED_TO_AIRLINE): RefundStatus.SUBMITTED,
        (RefundStatus.SUBMITTED, RefundAction.RECORD_AIRLINE_REFUND): RefundStatus.RECEIVED,
        (RefundStatus.RECEIVED, RefundAction.CREDIT_BALANCE): RefundStatus.REFUNDED,
        (RefundStatus.REQUESTED, RefundAction.REJECT): RefundStatus.REJECTED,
        (RefundStatus.SUBMITTED, RefundAction.REJECT): RefundStatus.REJECTED,
        (RefundStatus.RECEIVED, RefundAction.REJECT): RefundStatus.REJECTED,
    }
)


class RefundTransitionError(Conflict):
    """An action that the refund's current status does not allow; the message is fit for a user."""

    def __init__(self, status: RefundStatus, action: RefundAction):
        self.status = status
        self.action = action
        super().__init__(f"A refund that is {STATUS_LABELS[status]} cannot {_ACTION_REFUSED[action]}.")


def next_status(status: RefundStatus | str, action: RefundAction | str) -> RefundStatus:
    """The status a refund moves to when action is taken; RefundTransitionError if it is not allowed.

    Plain strings are accepted (as stored in the database); an unknown status or action is a ValueError.
    """
    status, action = RefundStatus(status), RefundAction(action)
    try:
        return TRANSITIONS[status, action]
    except KeyError:
        raise RefundTransitionError(status, action) from None


@cache
def allowed_actions(status: RefundStatus | str) -> tuple[RefundAction, ...]:
    """The actions open to a refund in this status, in the order the operations queue shows them (worked
    out once per status: every queue row asks)."""
    status = RefundStatus(status)
    return tuple(action for action in RefundAction if (status, action) in TRANSITIONS)


def shown_overdue(status: RefundStatus | str, received_at: datetime, now: datetime) -> bool:
    """Shown overdue in the operations queue: still waiting to be submitted (requested) 4 hours after the
    host received it (deadlines.is_overdue)."""
    return RefundStatus(status) is RefundStatus.REQUESTED and is_overdue(received_at, now)


# --- The ways a refund starts (SPEC 3.1, 3.2) --------------------------------------------------------------


class RefundPath(StrEnum):
    INSTANT_QUOTE = "instant_quote"
    REQUEST_QUOTE = "request_quote"
    AGENT_REQUEST = "agent_request"
    AGENT_BATCH = "agent_batch"
    REFUND_CLAIM = "refund_claim"
    CANCEL_REFUND = "cancel_refund"
    FREE_REFUND = "free_refund"


PATH_LABELS: Mapping[RefundPath, str] = MappingProxyType(
    {
        RefundPath.INSTANT_QUOTE: "Refund button (instant quote)",
        RefundPath.REQUEST_QUOTE: "Cancel & Refund request (quoted)",
        RefundPath.AGENT_REQUEST: "Agent & Passenger Initiated request",
        RefundPath.AGENT_BATCH: "Batch upload",
        RefundPath.REFUND_CLAIM: "Refund Claim",
        RefundPath.CANCEL_REFUND: "Cancel & Refund (operator refund)",
        RefundPath.FREE_REFUND: "Free refund (airline schedule change)",
    }
)

# The host submits these to the airline; on the others the agency or passenger already did.
OPERATOR_PATHS = frozenset(
    {RefundPath.INSTANT_QUOTE, RefundPath.REQUEST_QUOTE, RefundPath.CANCEL_REFUND, RefundPath.FREE_REFUND}
)
AGENT_PATHS = frozenset(RefundPath) - OPERATOR_PATHS

PAYMENT_CHANNELS = ("deposit", "vcc", "vcc_passthrough")
CARD_CHANNELS = frozenset({"vcc", "vcc_passthrough"})


def is_operator_path(path: RefundPath | str) -> bool:
    """True when the host submits the refund to the airline (the quoted paths)."""
    return RefundPath(path) in OPERATOR_PATHS


def cancel_refund_path(*, involuntary: bool) -> RefundPath:
    """The path of an operator refund confirmed on Cancel & Refund's quote step: a free refund for an
    airline change when involuntary (reached from Action required → Free refund, or by ticking
    Involuntary, which is offered only while the airline's change is open), else a plain operator refund."""
    return RefundPath.FREE_REFUND if involuntary else RefundPath.CANCEL_REFUND


def first_status(path: RefundPath | str) -> RefundStatus:
    """The status a new refund starts in: operator refunds wait to be submitted, the others already were."""
    return RefundStatus.REQUESTED if is_operator_path(path) else RefundStatus.SUBMITTED


def path_group_label(path: RefundPath | str, operator_name: str) -> str:
    """The refunds-list group of a path: "<operator> Initiated" or "Agent & Passenger Initiated"."""
    return f"{operator_name} Initiated" if is_operator_path(path) else "Agent & Passenger Initiated"


_CARD_CREDITED = (
    "Agent & passenger initiated refunds are not available for orders paid by virtual card (VCC): "
    "the airline pays the refund straight back to the card."
)
_PASSTHROUGH_CLAIM = (
    "Refund Claim is not available for VCC Passthrough orders: the card was charged by the airline "
    "itself, so there is no way to tell here how much the airline paid back to it."
)
_CARD_CLAIM = (
    "Refund Claim is not available for orders paid by virtual card (VCC): the airline pays the refund "
    "straight back to the card."
)

# (path, channel) -> why it is refused; a pair not listed is allowed. The claim entries come last on
# purpose: a claim names itself, and for a passthrough claim the more specific reason wins. Each reason
# is a whole sentence that names what is refused, so it is shown as it is, never after a prefix.
_PATH_REFUSALS: Mapping[tuple[RefundPath, str], str] = MappingProxyType(
    {
        **{(path, channel): _CARD_CREDITED for path in AGENT_PATHS for channel in CARD_CHANNELS},
        (RefundPath.REFUND_CLAIM, "vcc"): _CARD_CLAIM,
        (RefundPath.REFUND_CLAIM, "vcc_passthrough"): _PASSTHROUGH_CLAIM,
    }
)


def _channel(payment_channel: str) -> str:
    if payment_channel not in PAYMENT_CHANNELS:
        raise ValueError(f"unknown payment channel: {payment_channel!r}")
    return payment_channel


def path_refusal(path: RefundPath | str, payment_channel: str) -> str | None:
    """None when a refund may start by this path on an order paid by this channel, else why not."""
    return _PATH_REFUSALS.get((RefundPath(path), _channel(payment_channel)))


# --- Coupons: one passenger on one segment ----------------------------------------------------------------

BOOKING_STATUSES = ("ticketed", "cancelled")
SEGMENT_STATUSES = ("confirmed", "cancelled")


class CouponState(StrEnum):
    REFUNDABLE = "refundable"
    FLOWN = "flown"
    IN_REFUND = "in_refund"
    BOOKING_CANCELLED = "booking_cancelled"


COUPON_STATE_REASONS: Mapping[CouponState, str | None] = MappingProxyType(
    {
        CouponState.REFUNDABLE: None,
        CouponState.FLOWN: "Already flown",
        CouponState.IN_REFUND: "Already in a refund",
        CouponState.BOOKING_CANCELLED: "Booking cancelled",
    }
)


def _aware(name: str, moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment


def coupon_state(
    *,
    booking_status: str,
    segment_status: str,
    departure_utc: datetime,
    now: datetime,
    in_live_refund: bool,
) -> CouponState:
    """Whether a coupon can be selected for a refund, and if not, why.

    in_live_refund means the coupon is already in a refund that is not rejected. A segment the airline
    cancelled never flies, so it stays refundable after its departure time.
    """
    if booking_status not in BOOKING_STATUSES:
        raise ValueError(f"unknown booking status: {booking_status!r}")
    if segment_status not in SEGMENT_STATUSES:
        raise ValueError(f"unknown segment status: {segment_status!r}")
    departed = _aware("departure_utc", departure_utc) <= _aware("now", now)
    if booking_status == "cancelled":
        return CouponState.BOOKING_CANCELLED
    if in_live_refund:
        return CouponState.IN_REFUND
    if segment_status == "confirmed" and departed:
        return CouponState.FLOWN
    return CouponState.REFUNDABLE


def nothing_left_reason(states: Iterable[CouponState]) -> str | None:
    """Why a booking has nothing left to refund, given the state of each of its coupons; None when at
    least one coupon can still be refunded. The Refund slide-out says this plainly instead of asking
    for a selection that cannot be made."""
    states = set(states)
    if CouponState.REFUNDABLE in states:
        return None
    if not states:
        return "This booking has no flights."
    if CouponState.BOOKING_CANCELLED in states:
        return "This booking is cancelled."
    if states == {CouponState.IN_REFUND}:
        return "Every passenger's flights are already in a refund; follow them on Refund Info."
    if states == {CouponState.FLOWN}:
        return "Every flight has been flown."
    return "Every flight has been flown or is already in a refund (see Refund Info)."


def refund_offered(booking_status: str) -> bool:
    """Whether Booking Details offers the Refund button: not on a cancelled booking."""
    if booking_status not in BOOKING_STATUSES:
        raise ValueError(f"unknown booking status: {booking_status!r}")
    return booking_status == "ticketed"


class SegmentState(StrEnum):
    CONFIRMED = "confirmed"
    FLOWN = "flown"
    CANCELLED = "cancelled"


SEGMENT_STATE_LABELS: Mapping[SegmentState, str] = MappingProxyType(
    {SegmentState.CONFIRMED: "Confirmed", SegmentState.FLOWN: "Flown", SegmentState.CANCELLED: "Cancelled"}
)


def segment_state(
    *, segment_status: str, departure_utc: datetime, now: datetime, cancelled_by_refund: bool = False
) -> SegmentState:
    """A segment as Booking Details shows it: cancelled by the airline or by a low-cost carrier's
    refund of every passenger on it (segment_cancelled_by_refunds; never flown), flown once a confirmed
    segment's departure has passed, else confirmed."""
    if segment_status not in SEGMENT_STATUSES:
        raise ValueError(f"unknown segment status: {segment_status!r}")
    if segment_status == "cancelled" or cancelled_by_refund:
        return SegmentState.CANCELLED
    if _aware("departure_utc", departure_utc) <= _aware("now", now):
        return SegmentState.FLOWN
    return SegmentState.CONFIRMED


# --- What a booking's refunds make of it (SPEC 3.2 "LCC", issue 13) -------------------------------------

CARRIER_TYPES = ("LCC", "FSC")


def _carrier(carrier_type: str) -> str:
    if carrier_type not in CARRIER_TYPES:
        raise ValueError(f"unknown carrier type: {carrier_type!r}")
    return carrier_type


def coupon_cancelled_by_refund(*, carrier_type: str, refund_path: RefundPath | str | None) -> bool:
    """Whether a coupon counts as cancelled because of its live refund (refund_path: the path of the
    refund that holds it, None when none does).

    For a low-cost carrier cancelling is refunding: once the host is asked to refund a coupon (an
    operator refund), the seat is given up. A full-service carrier's ticket stays as it is until the
    airline says otherwise; the agent paths report a refund the agency made, not a cancellation here.
    """
    return _carrier(carrier_type) == "LCC" and refund_path is not None and is_operator_path(refund_path)


def segment_cancelled_by_refunds(
    *, carrier_type: str, refund_paths: Iterable[RefundPath | str | None]
) -> bool:
    """A segment is cancelled by refunds when every passenger's coupon on it is
    (coupon_cancelled_by_refund); refund_paths has one entry per passenger, None when not in a refund."""
    paths = list(refund_paths)
    return bool(paths) and all(
        coupon_cancelled_by_refund(carrier_type=carrier_type, refund_path=path) for path in paths
    )


class BookingRefundState(StrEnum):
    """What live refunds make of a booking, kept on the booking so lists need no extra query."""

    NONE = "none"  # no coupon in a live refund
    PARTLY_REFUNDED = "partly_refunded"  # some coupons, not all
    REFUNDED = "refunded"  # every coupon
    CANCELLED = "cancelled"  # every coupon, each cancelled by its refund (a low-cost carrier)


def booking_refund_state(
    *, carrier_type: str, coupon_count: int, live_refund_paths: Iterable[RefundPath | str]
) -> BookingRefundState:
    """The refund state of a booking with coupon_count coupons (passengers x segments), given the path
    of the live refund of each coupon that is in one. A rejected refund holds no coupon."""
    paths = list(live_refund_paths)
    if len(paths) > coupon_count:
        raise ValueError("more coupons in refunds than the booking has")
    if not paths:
        return BookingRefundState.NONE
    if len(paths) < coupon_count:
        return BookingRefundState.PARTLY_REFUNDED
    if all(coupon_cancelled_by_refund(carrier_type=carrier_type, refund_path=path) for path in paths):
        return BookingRefundState.CANCELLED
    return BookingRefundState.REFUNDED


# The status a booking shows (My Bookings, Booking Details): its own status, unless refunds say more.
SHOWN_BOOKING_STATUS_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "ticketed": "Ticketed",
        "cancelled": "Cancelled",
        "partly_refunded": "Partly refunded",
        "refunded": "Refunded",
    }
)

# The My Bookings status filter: which refund states count as a cancelled booking.
CANCELLING_REFUND_STATES = frozenset({BookingRefundState.CANCELLED})


def shown_booking_status(status: str, refund_state: BookingRefundState | str) -> str:
    """The key of the status a booking shows (SHOWN_BOOKING_STATUS_LABELS): a cancelled booking is
    Cancelled; a ticketed one shows what its refunds make of it, if anything."""
    if status not in BOOKING_STATUSES:
        raise ValueError(f"unknown booking status: {status!r}")
    refund_state = BookingRefundState(refund_state)
    if status == "cancelled" or refund_state is BookingRefundState.NONE:
        return status
    return refund_state.value


def fulfillment_date_refusal(fulfilled_on: date, *, today: date, issued_on: date) -> str | None:
    """Why the airline fulfillment date of a Refund Claim cannot be right, or None when it can.

    The airline refunded on a day between the ticket's issue and today (both in the portal's zone).
    """
    if fulfilled_on > today:
        return "The fulfillment date cannot be in the future."
    if fulfilled_on < issued_on:
        return f"The fulfillment date cannot be before the ticket was issued ({issued_on:%d %b %Y})."
    return None


# --- The instant quote (SPEC 3.3) -------------------------------------------------------------------------


def _same_currency(currency: str, *amounts: Money) -> None:
    for amount in amounts:
        if amount.currency != currency:
            raise CurrencyMismatch(f"{currency} and {amount.currency}")


@dataclass(frozen=True, slots=True)
class FareFacts:
    """One passenger's fare and fare rule, all in the booking's currency."""

    base: Money
    taxes: Money
    refundable_taxes: Money
    refundable: bool
    cancellation_fee: Money

    def __post_init__(self):
        amounts = (self.base, self.taxes, self.refundable_taxes, self.cancellation_fee)
        _same_currency(self.base.currency, *amounts)
        if any(amount.amount < 0 for amount in amounts):
            raise ValueError("fare amounts cannot be negative")
        if self.taxes < self.refundable_taxes:
            raise ValueError("refundable taxes cannot exceed taxes")

    @property
    def currency(self) -> str:
        return self.base.currency


class QuoteCase(StrEnum):
    EXACT = "exact"
    CANNOT_QUOTE = "cannot_quote"
    NON_REFUNDABLE = "non_refundable"  # exact, and it comes to 0: the passenger gets nothing


QUOTE_CASE_LABELS: Mapping[QuoteCase, str] = MappingProxyType(
    {
        QuoteCase.EXACT: "Exact quote",
        QuoteCase.CANNOT_QUOTE: "Partial refund: the amount the airline actually refunds applies",
        QuoteCase.NON_REFUNDABLE: "Gets nothing",
    }
)


class NothingBecause(StrEnum):
    """Why a passenger's exact quote comes to 0."""

    NON_REFUNDABLE_FARE = "non_refundable_fare"
    CANCELLATION_FEE = "cancellation_fee"
    SERVICE_FEE = "service_fee"
    NOTHING_PAID = "nothing_paid"


NOTHING_BECAUSE_LABELS: Mapping[NothingBecause, str] = MappingProxyType(
    {
        NothingBecause.NON_REFUNDABLE_FARE: (
            "Gets nothing: the fare is non-refundable and no taxes are refundable"
        ),
        NothingBecause.CANCELLATION_FEE: (
            "Gets nothing: the cancellation fee takes the whole fare and no taxes are refundable"
        ),
        NothingBecause.SERVICE_FEE: "Gets nothing: the service fee takes all that would come back",
        NothingBecause.NOTHING_PAID: "Gets nothing: nothing was paid for this ticket",
    }
)


@dataclass(frozen=True, slots=True)
class PassengerQuote:
    """One passenger's quote: the figures shown and the amount (None when it cannot be quoted).

    nothing_because says why an exact quote comes to 0 (None otherwise). The figures always add up:
    fare − cancellation fee + refundable taxes − service fee = amount, because the service fee shown is
    what the passenger is actually charged, never more than what comes back.
    """

    case: QuoteCase
    fare: Money
    cancellation_fee: Money
    refundable_taxes: Money
    service_fee: Money
    amount: Money | None
    nothing_because: NothingBecause | None = None

    @property
    def currency(self) -> str:
        return self.fare.currency

    @property
    def gets_nothing(self) -> bool:
        """Quoted exactly at 0: the passenger is refunded nothing (the quote says why)."""
        return self.case is QuoteCase.NON_REFUNDABLE

    @property
    def label(self) -> str:
        """How the quote table titles this line: the case, or why the passenger gets nothing."""
        if self.nothing_because is not None:
            return NOTHING_BECAUSE_LABELS[self.nothing_because]
        return QUOTE_CASE_LABELS[self.case]


def quote_passenger(
    fare: FareFacts,
    *,
    selected_segments: frozenset[str],
    unflown_segments: frozenset[str],
    service_fee: Money,
    involuntary: bool,
) -> PassengerQuote:
    """Quote one passenger's refund over the selected segments (SPEC 3.3).

    Selecting every unflown segment gives an exact amount (NON_REFUNDABLE, with the reason, when it is
    0); selecting only some of them cannot be quoted, because the airline decides what a partial refund
    is worth. An involuntary refund returns the whole fare and all taxes with no fees.

    The service fee charged on an exact quote is at most what would come back: it takes a passenger's
    refund to 0, never below, and never into another passenger's refund (the refund keeps the sum of the
    fees charged, and Credit balance deducts that sum).
    """
    if not selected_segments:
        raise ValueError("select at least one segment")
    if not selected_segments <= unflown_segments:
        raise ValueError("only unflown segments can be refunded")
    _same_currency(fare.currency, service_fee)
    if service_fee.amount < 0:
        raise ValueError("the service fee cannot be negative")

    zero = Money.zero(fare.currency)
    if involuntary:
        shown_fee, shown_taxes, shown_service = zero, fare.taxes, zero
        gross = fare.base + fare.taxes
    else:
        # A non-refundable fare shows the whole base as its fee, so the figures add up to the amount.
        shown_fee = fare.cancellation_fee if fare.refundable else fare.base
        shown_taxes = fare.refundable_taxes
        fare_back = (fare.base - fare.cancellation_fee).at_least_zero() if fare.refundable else zero
        gross = fare_back + fare.refundable_taxes
        shown_service = service_fee

    if selected_segments != unflown_segments:
        return PassengerQuote(QuoteCase.CANNOT_QUOTE, fare.base, shown_fee, shown_taxes, shown_service, None)
    shown_service = min(shown_service, gross)
    amount = gross - shown_service
    if not amount.is_zero:
        return PassengerQuote(QuoteCase.EXACT, fare.base, shown_fee, shown_taxes, shown_service, amount)
    if not gross.is_zero:
        because = NothingBecause.SERVICE_FEE
    elif involuntary:
        because = NothingBecause.NOTHING_PAID
    elif not fare.refundable:
        because = NothingBecause.NON_REFUNDABLE_FARE
    elif fare.base.is_zero and fare.taxes.is_zero:
        because = NothingBecause.NOTHING_PAID
    else:
        because = NothingBecause.CANCELLATION_FEE
    return PassengerQuote(
        QuoteCase.NON_REFUNDABLE, fare.base, shown_fee, shown_taxes, shown_service, amount, because
    )


@dataclass(frozen=True, slots=True)
class Quote:
    """The quote for a whole refund: each passenger's quote, keyed by passenger ref, in selection order.

    A passenger who gets nothing stays in the refund (their coupons are cancelled with the others, at
    0) and never blocks the others; only a quote in which every passenger gets nothing is refused.
    """

    passengers: tuple[tuple[str, PassengerQuote], ...]
    currency: str

    @property
    def total(self) -> Money | None:
        """The sum of the amounts, or None if any passenger cannot be quoted."""
        total = Money.zero(self.currency)
        for _, quote in self.passengers:
            if quote.amount is None:
                return None
            total += quote.amount
        return total

    @property
    def nothing_for(self) -> tuple[str, ...]:
        """The refs of the passengers who get nothing, in quote order."""
        return tuple(ref for ref, quote in self.passengers if quote.gets_nothing)

    @property
    def acceptable(self) -> bool:
        """Whether the agent may confirm: someone selected, and not everyone gets nothing."""
        return self.refusal is None

    @property
    def refusal(self) -> str | None:
        """Why the quote cannot be confirmed, or None when it can."""
        if not self.passengers:
            return "Select at least one passenger to refund."
        if len(self.nothing_for) == len(self.passengers):
            return (
                "Nothing would be refunded to the selected passengers (see the quote), so there is "
                "nothing to confirm."
            )
        return None


def build_quote(items: Iterable[tuple[str, PassengerQuote]], currency: str) -> Quote:
    """Gather passenger quotes into one Quote; refs must be unique and every figure in currency."""
    passengers = tuple(items)
    refs = [ref for ref, _ in passengers]
    if len(set(refs)) != len(refs):
        raise ValueError("a passenger appears twice in the quote")
    for _, quote in passengers:
        figures = (quote.fare, quote.cancellation_fee, quote.refundable_taxes, quote.service_fee)
        _same_currency(currency, *figures, *(() if quote.amount is None else (quote.amount,)))
    return Quote(passengers, currency)


def fare_facts(passenger, currency: str) -> FareFacts:
    """A passenger's fare and fare rule as FareFacts: anything with base, taxes, refundable_taxes,
    refundable and cancellation_fee (a stored passenger, or the batch's plain facts)."""
    return FareFacts(
        base=Money(passenger.base, currency),
        taxes=Money(passenger.taxes, currency),
        refundable_taxes=Money(passenger.refundable_taxes, currency),
        refundable=passenger.refundable,
        cancellation_fee=Money(passenger.cancellation_fee, currency),
    )


def quote_refund(
    passengers: Iterable[tuple[str, FareFacts, frozenset[str], frozenset[str]]],
    *,
    currency: str,
    service_fee: Money,
    involuntary: bool,
) -> Quote:
    """The quote of one refund, the same for every path that creates one (Refund button, Cancel &
    Refund, claims, requests, batch rows, the API): each (passenger ref, fare, selected segment refs,
    unflown segment refs), in order, quoted by quote_passenger()."""
    return build_quote(
        (
            (
                ref,
                quote_passenger(
                    fare,
                    selected_segments=selected,
                    unflown_segments=unflown,
                    service_fee=service_fee,
                    involuntary=involuntary,
                ),
            )
            for ref, fare, selected, unflown in passengers
        ),
        currency,
    )


# --- Money at the end (SPEC 3.4, 5) ------------------------------------------------------------------------

# Whether a refunded order is credited to the account's ledger; card orders are paid back to the card.
_CREDITS_LEDGER: Mapping[str, bool] = MappingProxyType(
    {"deposit": True, "vcc": False, "vcc_passthrough": False}
)


def balance_credit(
    *,
    path: RefundPath | str,
    payment_channel: str,
    airline_amount: Money,
    service_fee: Money,
    involuntary: bool,
) -> Money | None:
    """The ledger credit when a refund is credited, or None when it closes as paid to the card (VCC).

    The host's service fee is kept back only on operator refunds, and never on involuntary ones.
    """
    _same_currency(airline_amount.currency, service_fee)
    if airline_amount.amount < 0 or service_fee.amount < 0:
        raise ValueError("amounts cannot be negative")
    if not credits_ledger(payment_channel):
        return None
    charges_fee = is_operator_path(path) and not involuntary
    return (airline_amount - service_fee).at_least_zero() if charges_fee else airline_amount


def credits_ledger(payment_channel: str) -> bool:
    """Whether a refunded order is credited to the account's balance (deposit) or closes as paid to the
    card (VCC, VCC Passthrough)."""
    return _CREDITS_LEDGER[_channel(payment_channel)]


def action_label(action: RefundAction | str, *, payment_channel: str) -> str:
    """The button of an action in the operations queue: Credit balance on a card order says that it
    closes the refund as paid to the card (the same transition, with no ledger credit)."""
    action = RefundAction(action)
    if action is RefundAction.CREDIT_BALANCE and not credits_ledger(payment_channel):
        return CARD_CLOSE_LABEL
    return ACTION_LABELS[action]


def credit_note(
    *,
    path: RefundPath | str,
    payment_channel: str,
    airline_amount: Money | None,
    service_fee: Money,
    involuntary: bool,
) -> str:
    """What Credit balance will do, in a few words for the operations queue (from balance_credit); ''
    when it credits the airline's amount as it is, or before that amount is recorded."""
    if airline_amount is None:
        return ""
    credit = balance_credit(
        path=path,
        payment_channel=payment_channel,
        airline_amount=airline_amount,
        service_fee=service_fee,
        involuntary=involuntary,
    )
    if credit is None:
        return "Card order: closes as paid to the card."
    if credit != airline_amount:
        return f"Less service fee {service_fee}."
    return ""


# --- The amount a refund shows (SPEC 3.4, 5) --------------------------------------------------------------


class AmountBasis(StrEnum):
    ESTIMATE = "estimate"  # the quote as accepted
    AIRLINE_DECIDES = "airline_decides"  # no estimate (partial refund) and nothing recorded yet
    FROM_AIRLINE = "from_airline"  # the airline's refund, recorded, not credited yet
    CREDITED = "credited"  # credited to the account's balance
    TO_CARD = "to_card"  # a card order, closed as paid to the card


AMOUNT_BASIS_LABELS: Mapping[AmountBasis, str] = MappingProxyType(
    {
        AmountBasis.ESTIMATE: "est.",
        AmountBasis.AIRLINE_DECIDES: "Decided by the airline",
        AmountBasis.FROM_AIRLINE: "from airline",
        AmountBasis.CREDITED: "credited",
        AmountBasis.TO_CARD: "to card",
    }
)

# How the amount is titled on a refund's card (Refund Info).
AMOUNT_BASIS_TITLES: Mapping[AmountBasis, str] = MappingProxyType(
    {
        AmountBasis.ESTIMATE: "Estimated amount",
        AmountBasis.AIRLINE_DECIDES: "Estimated amount",
        AmountBasis.FROM_AIRLINE: "Airline refund amount",
        AmountBasis.CREDITED: "Refunded amount",
        AmountBasis.TO_CARD: "Refunded amount",
    }
)


def actual_amount(
    status: RefundStatus | str, *, airline_amount: Money | None, credited_amount: Money | None
) -> tuple[Money | None, AmountBasis | None]:
    """The actual amount and its basis: credited (or paid to the card) once refunded, the airline's
    recorded amount before that, nothing for a rejected refund or one the airline has not refunded."""
    status = RefundStatus(status)
    if status is RefundStatus.REFUNDED:
        if credited_amount is not None:
            return credited_amount, AmountBasis.CREDITED
        return airline_amount, AmountBasis.TO_CARD
    if airline_amount is not None and status is not RefundStatus.REJECTED:
        return airline_amount, AmountBasis.FROM_AIRLINE
    return None, None


def shown_amount(
    status: RefundStatus | str,
    *,
    estimate: Money | None,
    airline_amount: Money | None,
    credited_amount: Money | None,
) -> tuple[Money | None, AmountBasis]:
    """The one amount a refund shows: the actual amount once known, else the estimate (None when the
    airline decides)."""
    actual, basis = actual_amount(status, airline_amount=airline_amount, credited_amount=credited_amount)
    if basis is not None:
        return actual, basis
    if estimate is not None:
        return estimate, AmountBasis.ESTIMATE
    return None, AmountBasis.AIRLINE_DECIDES
