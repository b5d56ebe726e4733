"""Refunds: eligibility of a booking's coupons, quotes, creating refunds on every path, and the
operations actions that move a refund through its life. Flushes, never commits (the view does)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.domain.deadlines import local_date
from portal.domain.money import Money, TypedAmountError, decimals_phrase, parse_typed_amount
from portal.domain.refunds import (
    COUPON_STATE_REASONS,
    STATUS_LABELS,
    CouponState,
    FareFacts,
    PassengerQuote,
    Quote,
    QuoteCase,
    RefundAction,
    RefundPath,
    RefundStatus,
    RefundTransitionError,
    balance_credit,
    build_quote,
    coupon_state,
    first_status,
    is_operator_path,
    next_status,
    path_refusal,
    quote_passenger,
)
from portal.extensions import db
from portal.links import path_for
from portal.models import (
    Booking,
    Document,
    LedgerEntry,
    Passenger,
    Refund,
    RefundCoupon,
    RefundEvent,
    RefundPassenger,
    RefundReason,
    Segment,
    User,
)
from portal.services.notifications import account_agents, notify


class RefundError(Exception):
    """A refund request that cannot be done; the message is for the user."""


class CouponTaken(RefundError):
    """A selected coupon is already in a refund that is not rejected."""


class QuoteChanged(RefundError):
    """The quote computed again on accept differs from the one shown."""

    def __init__(self, quote: Quote):
        super().__init__("The quote changed since it was shown. Review the new figures and confirm again.")
        self.quote = quote


# --- Coupons ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Coupon:
    passenger: Passenger
    segment: Segment
    state: CouponState
    refund_code: str | None = None

    @property
    def key(self) -> str:
        return f"{self.passenger.ref}.{self.segment.ref}"

    @property
    def selectable(self) -> bool:
        return self.state is CouponState.REFUNDABLE

    @property
    def reason(self) -> str | None:
        reason = COUPON_STATE_REASONS[self.state]
        if self.state is CouponState.IN_REFUND and self.refund_code:
            return f"{reason} ({self.refund_code})"
        return reason


def live_refund_codes(booking: Booking) -> dict[tuple[int, int], str]:
    """(passenger id, segment id) -> code of the live refund holding that coupon, in one query."""
    rows = db.session.execute(
        select(RefundCoupon.passenger_id, RefundCoupon.segment_id, Refund.code)
        .join(Refund, Refund.id == RefundCoupon.refund_id)
        .where(Refund.booking_id == booking.id, RefundCoupon.live.is_(True))
    ).all()
    return {(p, s): code for p, s, code in rows}


def booking_coupons(booking: Booking, now: datetime) -> list[tuple[Passenger, list[Coupon]]]:
    """Every coupon of the booking with its state, grouped by passenger in booking order."""
    taken = live_refund_codes(booking)
    result = []
    for passenger in booking.passengers:
        coupons = []
        for segment in booking.segments:
            code = taken.get((passenger.id, segment.id))
            state = coupon_state(
                booking_status=booking.status,
                segment_status=segment.status,
                departure_utc=segment.departure_at,
                now=now,
                in_live_refund=code is not None,
            )
            coupons.append(Coupon(passenger, segment, state, code))
        result.append((passenger, coupons))
    return result


def parse_coupon_keys(booking: Booking, keys: list[str]) -> list[tuple[Passenger, Segment]]:
    """Selected coupons from form values "P1.S1"; unknown values are refused, duplicates ignored."""
    passengers = {p.ref: p for p in booking.passengers}
    segments = {s.ref: s for s in booking.segments}
    selected: dict[tuple[str, str], tuple[Passenger, Segment]] = {}
    for key in keys:
        p_ref, _, s_ref = key.partition(".")
        if p_ref not in passengers or s_ref not in segments:
            raise RefundError("The selection names a passenger or segment that is not on this booking.")
        selected[(p_ref, s_ref)] = (passengers[p_ref], segments[s_ref])
    if not selected:
        raise RefundError("Select at least one passenger and segment.")
    return list(selected.values())


def whole_passengers(booking: Booking, refs: list[str], now: datetime) -> list[tuple[Passenger, Segment]]:
    """Every refundable coupon of the chosen passengers (the Refund button refunds whole tickets)."""
    known = {p.ref for p in booking.passengers}
    if any(ref not in known for ref in refs):
        raise RefundError("The selection names a passenger who is not on this booking.")
    chosen = []
    for passenger, coupons in booking_coupons(booking, now):
        if passenger.ref in refs:
            chosen.extend((c.passenger, c.segment) for c in coupons if c.selectable)
    return chosen


# --- Quotes -------------------------------------------------------------------------------------


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount, currency)


def check_selection(booking: Booking, selection: list[tuple[Passenger, Segment]], now: datetime) -> None:
    """Refuse a selection with a coupon that cannot be refunded (flown, taken, cancelled booking)."""
    if not booking.is_ticketed:
        raise RefundError("Only ticketed bookings can be refunded; this booking is cancelled.")
    if not selection:
        raise RefundError("Select at least one passenger and segment.")
    states = {
        (c.passenger.id, c.segment.id): c for _, coupons in booking_coupons(booking, now) for c in coupons
    }
    for passenger, segment in selection:
        coupon = states[(passenger.id, segment.id)]
        if not coupon.selectable:
            raise (CouponTaken if coupon.state is CouponState.IN_REFUND else RefundError)(
                f"{passenger.last_name}/{passenger.first_name} on {segment.flight_number} "
                f"cannot be refunded: {coupon.reason}."
            )


def involuntary_refusal(booking: Booking, selection: list[tuple[Passenger, Segment]]) -> str | None:
    """Why this selection cannot be refunded free of fees, or None when it can.

    A refund is involuntary only because of the airline: a selected segment must be cancelled by the
    airline or have a schedule change the agency has not answered (accepting a change answers it).
    """
    open_changes = {c.segment_id for c in booking.schedule_changes if c.acknowledged_at is None}
    if any(segment.status == "cancelled" or segment.id in open_changes for _, segment in selection):
        return None
    return (
        "A free (involuntary) refund needs a flight the airline cancelled or a schedule change that has not "
        "been accepted; this selection has neither. Use the normal refund instead."
    )


def compute_quote(
    booking: Booking, selection: list[tuple[Passenger, Segment]], *, path: RefundPath, involuntary: bool, now
) -> Quote:
    """The quote for the selected coupons, per passenger, as SPEC 3.3 computes it.

    Raises RefundError when a selected coupon cannot be refunded.
    """
    check_selection(booking, selection, now)
    currency = booking.currency
    fee = booking.account.service_fee if is_operator_path(path) and not involuntary else Decimal("0")
    service_fee = _money(fee, currency)
    unflown_by_passenger = {
        passenger.id: frozenset(c.segment.ref for c in coupons if c.state is not CouponState.FLOWN)
        for passenger, coupons in booking_coupons(booking, now)
    }
    selected: dict[int, set[str]] = {}
    for passenger, segment in selection:
        selected.setdefault(passenger.id, set()).add(segment.ref)
    items = []
    for passenger in booking.passengers:
        if passenger.id not in selected:
            continue
        fare = FareFacts(
            base=_money(passenger.base, currency),
            taxes=_money(passenger.taxes, currency),
            refundable_taxes=_money(passenger.refundable_taxes, currency),
            refundable=passenger.refundable,
            cancellation_fee=_money(passenger.cancellation_fee, currency),
        )
        items.append(
            (
                passenger.ref,
                quote_passenger(
                    fare,
                    selected_segments=frozenset(selected[passenger.id]),
                    unflown_segments=unflown_by_passenger[passenger.id],
                    service_fee=service_fee,
                    involuntary=involuntary,
                ),
            )
        )
    return build_quote(items, currency)


def quote_fingerprint(quote: Quote) -> str:
    """A short digest of every figure of a quote: the form carries it so accept can see a change."""
    canonical = [
        [
            ref,
            q.case.value,
            str(q.fare.amount),
            str(q.cancellation_fee.amount),
            str(q.refundable_taxes.amount),
            str(q.service_fee.amount),
            None if q.amount is None else str(q.amount.amount),
        ]
        for ref, q in quote.passengers
    ]
    return hashlib.sha256(json.dumps([quote.currency, canonical]).encode()).hexdigest()[:32]


# --- Creating refunds ---------------------------------------------------------------------------


def create_refund(
    booking: Booking,
    selection: list[tuple[Passenger, Segment]],
    *,
    path: RefundPath,
    user: User,
    now: datetime | None = None,
    involuntary: bool = False,
    reason: RefundReason | None = None,
    airline_fulfilled_on: date | None = None,
    proof: Document | None = None,
    note: str | None = None,
    shown_fingerprint: str | None = None,
    posted_amounts: dict[str, Decimal] | None = None,
) -> Refund:
    """Create a refund of the selected coupons on `path`, with its quote lines, coupons and first event.

    Refuses what the rules refuse (payment channel, flown or taken coupons, a non-refundable operator
    quote, a changed quote). The live-coupon unique index is the last word: if another request took a
    coupon first, the session is rolled back and CouponTaken raised.

    posted_amounts (passenger ref -> amount), only on REQUEST_QUOTE: the quote operations posted on the
    request replaces the fare-rule quote; every coupon and channel check still applies.
    """
    now = now or utcnow()
    refusal = path_refusal(path, booking.payment_channel)
    if refusal:
        raise RefundError(refusal)
    if reason is not None and reason.involuntary:
        involuntary = True
    if involuntary and is_operator_path(path) and posted_amounts is None:
        refusal = involuntary_refusal(booking, selection)
        if refusal:
            raise RefundError(refusal)
    quote = compute_quote(booking, selection, path=path, involuntary=involuntary, now=now)
    if posted_amounts is not None:
        quote = _posted_quote(quote, path, posted_amounts)
    elif shown_fingerprint is not None and shown_fingerprint != quote_fingerprint(quote):
        raise QuoteChanged(quote)
    if is_operator_path(path) and not quote.acceptable and posted_amounts is None:
        raise RefundError(quote.refusal)

    total = quote.total
    refund = Refund(
        booking=booking,
        account_id=booking.account_id,
        path=path.value,
        status=first_status(path).value,
        currency=booking.currency,
        involuntary=involuntary,
        reason=reason,
        estimated_amount=None if total is None else total.amount,
        service_fee=sum((q.service_fee.amount for _, q in quote.passengers), Decimal("0.00")),
        airline_fulfilled_on=airline_fulfilled_on,
        proof=proof,
        note=(note or "").strip() or None,
        created_by_id=user.id,
        created_at=now,
        updated_at=now,
    )
    by_ref = {p.ref: p for p in booking.passengers}
    for ref, q in quote.passengers:
        refund.passengers.append(
            RefundPassenger(
                passenger=by_ref[ref],
                quote_case=q.case.value,
                fare=q.fare.amount,
                cancellation_fee=q.cancellation_fee.amount,
                refundable_taxes=q.refundable_taxes.amount,
                service_fee=q.service_fee.amount,
                amount=None if q.amount is None else q.amount.amount,
            )
        )
    for passenger, segment in selection:
        refund.coupons.append(RefundCoupon(passenger=passenger, segment=segment, live=True))
    refund.events.append(
        RefundEvent(
            actor_id=user.id, at=now, from_status=None, to_status=refund.status, note=_created_note(refund)
        )
    )
    db.session.add(refund)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise CouponTaken(
            "Another refund for these passengers and segments was just submitted (a second click or another "
            "tab?). Nothing new was created; see Refund Info for the refund that exists."
        ) from None
    refund.code = f"RF{refund.id:08d}"
    db.session.flush()
    if refund.involuntary:
        # A free refund answers the airline's schedule changes it covers (issue 7).
        from portal.services.schedule_changes import resolve_by_refund

        resolve_by_refund(refund, user, now)
    return refund


def _posted_quote(quote: Quote, path: RefundPath, amounts: dict[str, Decimal]) -> Quote:
    """The fare-rule quote with each passenger's amount replaced by the one operations posted.

    Operations priced it whole, so there is no service fee; the deduction shows as the fee, so the
    figures still add up to the amount.
    """
    if path is not RefundPath.REQUEST_QUOTE:
        raise ValueError("posted amounts apply only to quoted service requests")
    refs = [ref for ref, _ in quote.passengers]
    if set(refs) != set(amounts):
        raise RefundError(
            "The quote does not cover exactly the passengers that can still be refunded; ask for a new one."
        )
    items = []
    for ref, q in quote.passengers:
        amount = Money(amounts[ref], quote.currency)
        zero = Money.zero(quote.currency)
        deduction = (q.fare + q.refundable_taxes - amount).at_least_zero()
        line = PassengerQuote(QuoteCase.EXACT, q.fare, deduction, q.refundable_taxes, zero, amount)
        items.append((ref, line))
    return build_quote(items, quote.currency)


def _created_note(refund: Refund) -> str:
    parts = [f"Started by {refund.path_label}"]
    if refund.involuntary:
        parts.append("involuntary: no fees")
    if refund.reason is not None:
        parts.append(f"reason: {refund.reason.label}")
    return "; ".join(parts) + "."


# --- Operations actions -------------------------------------------------------------------------


def _clean_amount(raw, currency: str) -> Decimal:
    try:
        amount = parse_typed_amount(str(raw), currency)
    except TypedAmountError as exc:
        if exc.reason == "too_precise":
            raise RefundError(f"Enter a non-negative amount with {decimals_phrase(currency)}.") from None
        if exc.reason == "too_large":
            raise RefundError(exc.message) from None
        raise RefundError("Enter the amount as a number such as 315.00.") from None
    if amount < 0:
        raise RefundError(f"Enter a non-negative amount with {decimals_phrase(currency)}.")
    return amount


def apply_action(
    refund: Refund, action: RefundAction, *, user: User, now: datetime | None = None, **data
) -> Refund:
    """Move a refund one step (SPEC 3.4), append the event, and credit the ledger when crediting.

    data: reference (mark submitted); amount, refunded_on, reference (record airline refund);
    reason (reject). Raises RefundError / RefundTransitionError with a message for the user.
    """
    now = now or utcnow()
    action = RefundAction(action)
    before = refund.status
    after = next_status(before, action)  # RefundTransitionError when not allowed
    _claim_transition(refund, before, after, action, now)
    note = None
    if action is RefundAction.MARK_SUBMITTED_TO_AIRLINE:
        reference = (data.get("reference") or "").strip()
        if not reference:
            raise RefundError("Enter the airline's reference for the submission.")
        refund.airline_submission_reference = reference[:80]
        note = f"Airline reference {refund.airline_submission_reference}."
    elif action is RefundAction.RECORD_AIRLINE_REFUND:
        amount = _clean_amount(data.get("amount", ""), refund.currency)
        refunded_on = data.get("refunded_on")
        if not isinstance(refunded_on, date):
            raise RefundError("Enter the date the airline refunded.")
        if refunded_on > portal_today(now):
            raise RefundError("The airline refund date cannot be in the future.")
        reference = (data.get("reference") or "").strip()
        if not reference:
            raise RefundError("Enter the airline's refund reference.")
        refund.airline_amount = amount
        refund.airline_refunded_on = refunded_on
        refund.airline_refund_reference = reference[:80]
        note = (
            f"Airline refunded {refund.currency} {amount:,.2f} on {refunded_on:%d %b %Y}, "
            f"reference {reference}."
        )
    elif action is RefundAction.CREDIT_BALANCE:
        note = _credit(refund, user, now)
    elif action is RefundAction.REJECT:
        reason = (data.get("reason") or "").strip()
        if not reason:
            raise RefundError("Enter the reason for rejecting the refund; the agency will see it.")
        refund.rejection_reason = reason
        for coupon in refund.coupons:
            coupon.live = False  # the coupons may be refunded again
        note = reason
    refund.status = after.value
    refund.updated_at = now
    _tell_agency(refund, note, now)
    refund.events.append(
        RefundEvent(actor_id=user.id, at=now, from_status=before, to_status=after.value, note=note)
    )
    db.session.flush()
    return refund


def _claim_transition(refund: Refund, before: str, after: RefundStatus, action: RefundAction, now) -> None:
    """Move the status with a conditional UPDATE, so two operators acting at once (Credit in one tab,
    Reject in another) cannot both succeed: the second finds the status changed and is refused."""
    moved = db.session.execute(
        update(Refund)
        .where(Refund.id == refund.id, Refund.status == before)
        .values(status=after.value, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        db.session.refresh(refund)
        raise RefundTransitionError(RefundStatus(refund.status), action)


def portal_today(now: datetime) -> date:
    """Today's date where the portal's users are (PORTAL_TIMEZONE), not in UTC."""
    return local_date(now, current_app.config["TIMEZONE"])


def _tell_agency(refund: Refund, note: str | None, now: datetime) -> None:
    label = STATUS_LABELS[RefundStatus(refund.status)]
    text = f"Refund {refund.code} for order {refund.booking.order_number}: {label}."
    if refund.status == RefundStatus.REJECTED:
        text += f" Reason: {note}"
    notify(
        account_agents(refund.account_id),
        "refund_status",
        text,
        path_for("bookings.refund_info", order_number=refund.booking.order_number),
        now=now,
    )


def _credit(refund: Refund, user: User, now: datetime) -> str:
    booking = refund.booking
    credit = balance_credit(
        path=refund.path,
        payment_channel=booking.payment_channel,
        airline_amount=Money(refund.airline_amount, refund.currency),
        service_fee=Money(refund.service_fee, refund.currency),
        involuntary=refund.involuntary,
    )
    if credit is None:
        refund.credited_amount = None
        return "Paid back to the card by the airline; no balance credit."
    refund.credited_amount = credit.amount
    if credit.is_zero:
        return "Nothing to credit after the service fee."
    db.session.add(
        LedgerEntry(
            account_id=refund.account_id,
            currency=refund.currency,
            amount=credit.amount,
            kind="refund_credit",
            refund_id=refund.id,
            description=f"Refund {refund.code} for order {booking.order_number}",
            created_by_id=user.id,
            created_at=now,
        )
    )
    return f"Credited {credit} to the account balance."


# --- Reading ------------------------------------------------------------------------------------


def booking_refunds(booking: Booking) -> list[Refund]:
    """The booking's refunds, newest first, with all Refund Info shows, in a fixed number of queries."""
    return list(
        db.session.scalars(
            select(Refund)
            .where(Refund.booking_id == booking.id)
            .order_by(Refund.created_at.desc(), Refund.id.desc())
            .options(
                selectinload(Refund.passengers),
                selectinload(Refund.coupons),
                selectinload(Refund.events).selectinload(RefundEvent.actor),
                selectinload(Refund.reason),
                selectinload(Refund.proof),
            )
        )
    )


def active_reasons() -> list[RefundReason]:
    return list(
        db.session.scalars(select(RefundReason).where(RefundReason.active).order_by(RefundReason.position))
    )


__all__ = [
    "Coupon",
    "CouponTaken",
    "QuoteChanged",
    "RefundError",
    "RefundStatus",
    "RefundTransitionError",
    "apply_action",
    "booking_coupons",
    "booking_refunds",
    "compute_quote",
    "create_refund",
    "parse_coupon_keys",
    "quote_fingerprint",
    "whole_passengers",
]
