"""Refunds: eligibility of a booking's coupons, quotes, creating refunds on every path, and the
operations actions that move a refund through its life. Flushes, never commits (the view does)."""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, cached_property

from flask import current_app
from sqlalchemy import (
    Select,
    and_,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    not_,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from portal.clock import utcnow
from portal.domain.deadlines import local_date
from portal.domain.errors import Conflict, DomainError
from portal.domain.ledger import EntryKind
from portal.domain.money import Money, TypedAmountError, decimals_phrase, parse_typed_amount
from portal.domain.refunds import (
    FINAL_STATUSES,
    PATH_LABELS,
    STATUS_LABELS,
    CouponState,
    PassengerQuote,
    Quote,
    QuoteCase,
    RefundAction,
    RefundPath,
    RefundStatus,
    RefundTransitionError,
    balance_credit,
    build_quote,
    cancel_refund_path,
    fare_facts,
    first_status,
    fulfillment_date_refusal,
    is_operator_path,
    next_status,
    nothing_left_reason,
    path_refusal,
    quote_refund,
)
from portal.extensions import db, read
from portal.links import path_for
from portal.models import (
    Account,
    Airline,
    Booking,
    Document,
    Passenger,
    Refund,
    RefundCoupon,
    RefundEvent,
    RefundPassenger,
    RefundReason,
    Segment,
    User,
)
from portal.models.bookings import PAYMENT_CHANNELS
from portal.models.refunds import RefundShown
from portal.services.baggage import RefundedCoupons, fail_orders_in_refunds
from portal.services.catalogues import active_reasons
from portal.services.coupons import Coupon, booking_coupons, refresh_refund_states
from portal.services.documents import UploadRejected, save_document
from portal.services.ledger import post_entry
from portal.services.notifications import account_agents, notify
from portal.services.paging import LIST_COUNT_CAP, Page, Sort, SortOptions, probed_page
from portal.services.schedule_changes import resolve_by_refund
from portal.services.scope import Scope
from portal.services.transitions import claim
from portal.services.webhooks import emit, money

CHUNK = 2000  # values per IN-list: far below SQLite's and PostgreSQL's limits on bound parameters
# The paths of Cancel & Refund's quote step; which one is decided by domain.refunds.cancel_refund_path.
CANCEL_REFUND_PATHS = (RefundPath.CANCEL_REFUND, RefundPath.FREE_REFUND)


class RefundError(DomainError):
    """A refund request that cannot be done; the message is for the user."""


class CouponTaken(RefundError, Conflict):
    """A selected coupon is already in a refund that is not rejected."""


class QuoteChanged(RefundError, Conflict):
    """The quote computed again on accept differs from the one shown."""

    def __init__(self, quote: Quote):
        super().__init__("The quote changed since it was shown. Review the new figures and confirm again.")
        self.quote = quote


# --- Coupons ------------------------------------------------------------------------------------


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


def nothing_left(booking: Booking, now: datetime) -> str | None:
    """Why nothing is left to refund on the booking (cancelled, every flight flown or already in a
    refund), or None when some coupon can still be refunded."""
    return nothing_left_reason(c.state for _, coupons in booking_coupons(booking, now) for c in coupons)


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


def named_coupons(
    booking: Booking, passengers: list[str], segments: list[str] | None, now: datetime
) -> list[tuple[Passenger, Segment]]:
    """The coupons a call names by refs (the API): with `segments`, each named passenger on each named
    segment (Cancel & Refund's ticks); without, every refundable coupon of the named passengers (the
    Refund button's whole tickets). A passenger with nothing left to refund keeps their coupons in the
    selection, so check_selection names the coupon and why. Unknown refs are refused under their field."""
    known = {p.ref for p in booking.passengers}
    if unknown := [ref for ref in passengers if ref not in known]:
        raise RefundError(f"Not a passenger of this booking: {', '.join(unknown)}.", field="passengers")
    if segments is not None:
        flights = {s.ref for s in booking.segments}
        if unknown := [ref for ref in segments if ref not in flights]:
            raise RefundError(f"Not a segment of this booking: {', '.join(unknown)}.", field="segments")
        return parse_coupon_keys(booking, [f"{p}.{s}" for p in passengers for s in segments])
    chosen = whole_passengers(booking, passengers, now)
    covered = {passenger.ref for passenger, _ in chosen}
    for passenger in booking.passengers:
        if passenger.ref in passengers and passenger.ref not in covered:
            chosen.extend((passenger, segment) for segment in booking.segments)
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
    unflown = {
        passenger.id: frozenset(c.segment.ref for c in coupons if c.state is not CouponState.FLOWN)
        for passenger, coupons in booking_coupons(booking, now)
    }
    selected: dict[int, set[str]] = {}
    for passenger, segment in selection:
        selected.setdefault(passenger.id, set()).add(segment.ref)
    return quote_refund(
        (
            (p.ref, fare_facts(p, currency), frozenset(selected[p.id]), unflown[p.id])
            for p in booking.passengers
            if p.id in selected
        ),
        currency=currency,
        service_fee=Money(fee, currency),
        involuntary=involuntary,
    )


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
            None if q.nothing_because is None else q.nothing_because.value,
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
    request_id: int | None = None,
) -> Refund:
    """Create a refund of the selected coupons on `path`, with its quote lines, coupons and first event.

    Refuses what the rules refuse (payment channel, flown or taken coupons, a non-refundable operator
    quote, a changed quote), then writes it through insert_refunds(), the one writer of refunds.

    posted_amounts (passenger ref -> amount), only on REQUEST_QUOTE: the quote operations posted on the
    request replaces the fare-rule quote; every coupon and channel check still applies.
    """
    now = now or utcnow()
    if path in CANCEL_REFUND_PATHS and path != cancel_refund_path(involuntary=involuntary):
        raise ValueError("a free refund is exactly an involuntary Cancel & Refund operator refund")
    refusal = path_refusal(path, booking.payment_channel)
    if refusal:
        raise RefundError(refusal)
    if airline_fulfilled_on is not None:
        zone = current_app.config["TIMEZONE"]
        refusal = fulfillment_date_refusal(
            airline_fulfilled_on, today=portal_today(now), issued_on=local_date(booking.issued_at, zone)
        )
        if refusal:
            raise RefundError(refusal, field="airline_fulfilled_on")
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

    by_ref = {p.ref: p for p in booking.passengers}
    draft = RefundDraft(
        booking_id=booking.id,
        account_id=booking.account_id,
        path=path,
        currency=booking.currency,
        lines=tuple((by_ref[ref].id, q) for ref, q in quote.passengers),
        coupons=tuple((passenger.id, segment.id) for passenger, segment in selection),
        involuntary=involuntary,
        reason_id=reason.id if reason is not None else None,
        airline_fulfilled_on=airline_fulfilled_on,
        proof_document_id=proof.id if proof is not None else None,
        note=note,
        request_id=request_id,
        created_note=_created_note(path, involuntary, reason),
    )
    (refund_id,) = insert_refunds([draft], user=user, now=now)
    refund = db.session.get(Refund, refund_id)
    if refund.involuntary:
        # A free refund answers the airline's schedule changes it covers.
        resolve_by_refund(refund, user, now)
    return refund


def submit_refund_claim(
    booking: Booking,
    selection: list[tuple[Passenger, Segment]],
    *,
    user: User,
    reason_code: str,
    airline_fulfilled_on: date,
    proof_file,
    note: str | None = None,
    now: datetime | None = None,
) -> Refund:
    """A Refund Claim (the agency or passenger was refunded by the airline): one of the active reasons,
    the proof stored (services.documents, checked by content; removed again if the refund is refused),
    then create_refund on the claim path. The Refund Claim page and the API both come here."""
    reason = next((r for r in active_reasons() if r.code == reason_code), None)
    if reason is None:
        raise RefundError("Choose one of the reasons offered.", field="reason")
    try:
        proof = save_document(proof_file, account_id=booking.account_id, uploaded_by_id=user.id)
    except UploadRejected as exc:
        raise UploadRejected(str(exc), field="proof") from None
    return create_refund(
        booking,
        selection,
        path=RefundPath.REFUND_CLAIM,
        user=user,
        now=now,
        reason=reason,
        airline_fulfilled_on=airline_fulfilled_on,
        proof=proof,
        note=note,
    )


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


def _created_note(path: RefundPath, involuntary: bool, reason: RefundReason | None) -> str:
    parts = [f"Started by {PATH_LABELS[path]}"]
    if involuntary:
        parts.append("involuntary: no fees")
    if reason is not None:
        parts.append(f"reason: {reason.label}")
    return "; ".join(parts) + "."


# --- The one writer of refunds ------------------------------------------------------------------

TAKEN = (
    "Another refund for these passengers and segments was just submitted (a second click or another "
    "tab?). Nothing new was created; see Refund Info for the refund that exists."
)


@dataclass(frozen=True)
class RefundDraft:
    """A refund decided and quoted, ready to be written: what every path hands to insert_refunds()."""

    booking_id: int
    account_id: int
    path: RefundPath
    currency: str
    lines: tuple[tuple[int, PassengerQuote], ...]  # (passenger id, its quote), in quote order
    coupons: tuple[tuple[int, int], ...]  # (passenger id, segment id)
    created_note: str
    involuntary: bool = False
    reason_id: int | None = None
    airline_fulfilled_on: date | None = None
    proof_document_id: int | None = None
    note: str | None = None
    request_id: int | None = None

    @property
    def estimated_amount(self) -> Decimal | None:
        """The quote's total, or None when a line cannot be quoted (the airline's amount applies)."""
        if any(q.amount is None for _, q in self.lines):
            return None
        return sum((q.amount.amount for _, q in self.lines), Decimal("0.00"))


def insert_refunds(drafts: Sequence[RefundDraft], *, user: User, now: datetime) -> list[int]:
    """Write refunds with their quote lines, coupons and first event; their ids, in order.

    The one place a refund row is created: the Refund button, Cancel & Refund, Refund Claim, service
    requests, batch uploads and the API all come here, one refund or ten thousand. Bulk inserts, a fixed
    number of statements whatever the count. The live-coupon unique index is the last word on a coupon
    taken meanwhile: the whole write is undone (a savepoint) and CouponTaken raised. Open baggage orders
    on the refunded coupons are failed in the same write (baggage.fail_orders_in_refunds).
    """
    if not drafts:
        return []
    table = Refund.__table__
    try:
        with db.session.begin_nested():
            # A provisional code unique to this write, read back with its id, then the real code
            # (RF + id): plain executemany on every database, no per-row RETURNING.
            stamp = secrets.token_hex(4)
            provisional = [f"~{stamp}.{index}" for index in range(len(drafts))]
            db.session.execute(
                insert(table),
                [
                    {
                        "code": code,
                        "booking_id": d.booking_id,
                        "account_id": d.account_id,
                        "path": d.path.value,
                        "status": first_status(d.path).value,
                        # Agent & passenger refunds were submitted to the airline before they got here.
                        "submitted_at": now if first_status(d.path) is RefundStatus.SUBMITTED else None,
                        "currency": d.currency,
                        "involuntary": d.involuntary,
                        "reason_id": d.reason_id,
                        "estimated_amount": d.estimated_amount,
                        "service_fee": sum((q.service_fee.amount for _, q in d.lines), Decimal("0.00")),
                        "airline_fulfilled_on": d.airline_fulfilled_on,
                        "proof_document_id": d.proof_document_id,
                        "note": (d.note or "").strip() or None,
                        "request_id": d.request_id,
                        "created_by_id": user.id,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for code, d in zip(provisional, drafts, strict=True)
                ],
            )
            id_by_code: dict[str, int] = {}
            for start in range(0, len(provisional), CHUNK):
                rows = db.session.execute(
                    select(table.c.code, table.c.id).where(
                        table.c.code.in_(provisional[start : start + CHUNK])
                    )
                )
                id_by_code.update((code, refund_id) for code, refund_id in rows)
            ids = [id_by_code[code] for code in provisional]
            db.session.execute(
                update(table).where(table.c.id == bindparam("rid")).values(code=bindparam("new_code")),
                [{"rid": refund_id, "new_code": f"RF{refund_id:08d}"} for refund_id in ids],
            )
            db.session.execute(
                insert(RefundCoupon.__table__),
                [
                    {"refund_id": refund_id, "passenger_id": p, "segment_id": s, "live": True}
                    for refund_id, d in zip(ids, drafts, strict=True)
                    for p, s in d.coupons
                ],
            )
            db.session.execute(
                insert(RefundPassenger.__table__),
                [
                    {
                        "refund_id": refund_id,
                        "passenger_id": passenger_id,
                        "quote_case": q.case.value,
                        "fare": q.fare.amount,
                        "cancellation_fee": q.cancellation_fee.amount,
                        "refundable_taxes": q.refundable_taxes.amount,
                        "service_fee": q.service_fee.amount,
                        "amount": None if q.amount is None else q.amount.amount,
                    }
                    for refund_id, d in zip(ids, drafts, strict=True)
                    for passenger_id, q in d.lines
                ],
            )
            db.session.execute(
                insert(RefundEvent.__table__),
                [
                    {
                        "refund_id": refund_id,
                        "actor_id": user.id,
                        "at": now,
                        "from_status": None,
                        "to_status": first_status(d.path).value,
                        "note": d.created_note,
                    }
                    for refund_id, d in zip(ids, drafts, strict=True)
                ],
            )
            # A flight going into a refund will not be flown: its open baggage order fails, with why.
            fail_orders_in_refunds(
                [
                    RefundedCoupons(f"RF{refund_id:08d}", d.booking_id, d.coupons)
                    for refund_id, d in zip(ids, drafts, strict=True)
                ],
                user=user,
                now=now,
            )
            # My Bookings shows what refunds make of a booking from a column kept here.
            refresh_refund_states(d.booking_id for d in drafts)
    except IntegrityError:
        raise CouponTaken(TAKEN) from None
    return ids


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
    reason (reject). The input is checked first, then the row is claimed with a conditional UPDATE, so
    two operators acting at once (Credit in one tab, Reject in another) cannot both succeed.
    Raises RefundError (input) or RefundTransitionError (the status does not allow it, or changed).
    """
    now = now or utcnow()
    action = RefundAction(action)
    before = refund.status
    after = next_status(before, action)  # RefundTransitionError when not allowed
    values, note = _action_input(refund, action, data, now)
    if not claim(
        refund,
        expected={"status": before},
        values={"status": after.value, "updated_at": now, **values},
    ):
        raise RefundTransitionError(RefundStatus(refund.status), action)
    if action is RefundAction.CREDIT_BALANCE:
        note = _credit(refund, user, now)
    elif action is RefundAction.REJECT:
        for coupon in refund.coupons:
            coupon.live = False  # the coupons may be refunded again
    _tell_agency(refund, note, now)
    refund.events.append(
        RefundEvent(actor_id=user.id, at=now, from_status=before, to_status=after.value, note=note)
    )
    tell_webhooks(refund, "refund.status_changed", now, previous_status=before)
    if action is RefundAction.CREDIT_BALANCE and refund.credited_amount is not None:
        tell_webhooks(refund, "refund.credited", now, credited_amount=money(refund.credited_money))
    db.session.flush()
    if action is RefundAction.REJECT:
        refresh_refund_states([refund.booking_id])  # the coupons are given back
    return refund


def _action_input(refund: Refund, action: RefundAction, data: dict, now: datetime) -> tuple[dict, str | None]:
    """The columns an action sets from what the operator typed, and the event's note; RefundError if the
    input is incomplete or wrong. Checked before the row is claimed."""
    if action is RefundAction.MARK_SUBMITTED_TO_AIRLINE:
        reference = (data.get("reference") or "").strip()[:80]
        if not reference:
            raise RefundError("Enter the airline's reference for the submission.", field="reference")
        values = {"airline_submission_reference": reference, "submitted_at": now}
        return values, f"Airline reference {reference}."
    if action is RefundAction.RECORD_AIRLINE_REFUND:
        amount = _clean_amount(data.get("amount", ""), refund.currency)
        refunded_on = data.get("refunded_on")
        if not isinstance(refunded_on, date):
            raise RefundError("Enter the date the airline refunded.", field="refunded_on")
        if refunded_on > portal_today(now):
            raise RefundError("The airline refund date cannot be in the future.", field="refunded_on")
        reference = (data.get("reference") or "").strip()
        if not reference:
            raise RefundError("Enter the airline's refund reference.", field="reference")
        values = {
            "airline_amount": amount,
            "airline_refunded_on": refunded_on,
            "airline_refund_reference": reference[:80],
        }
        note = (
            f"Airline refunded {refund.currency} {amount:,.2f} on {refunded_on:%d %b %Y}, "
            f"reference {reference}."
        )
        return values, note
    if action is RefundAction.REJECT:
        reason = (data.get("reason") or "").strip()
        if not reason:
            raise RefundError(
                "Enter the reason for rejecting the refund; the agency will see it.", field="reason"
            )
        return {"rejection_reason": reason}, reason
    return {}, None


def portal_today(now: datetime) -> date:
    """Today's date where the portal's users are (PORTAL_TIMEZONE), not in UTC."""
    return local_date(now, current_app.config["TIMEZONE"])


def tell_webhooks(refund: Refund, event_type: str, now: datetime, **extra) -> None:
    """The agency's webhooks hear of it, in this transaction (services/webhooks.emit), with the refund's
    public fields."""
    data = {
        "refund_code": refund.code,
        "order_number": refund.booking.order_number,
        "status": refund.status,
        "path": refund.path,
        "estimated_amount": money(refund.estimate),
        "airline_amount": money(refund.airline_money),
        "credited_amount": money(refund.credited_money),
        "rejection_reason": refund.rejection_reason,
    }
    emit(refund.account_id, event_type, {**data, **extra}, now)


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
        topic=f"refund:{refund.code}",
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
    post_entry(
        account_id=refund.account_id,
        amount=credit,
        kind=EntryKind.REFUND_CREDIT,
        description=f"Refund {refund.code} for order {booking.order_number}",
        user=user,
        now=now,
        refund_id=refund.id,
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
    "named_coupons",
    "nothing_left",
    "parse_coupon_keys",
    "quote_fingerprint",
    "submit_refund_claim",
    "whole_passengers",
]


def load_refund(code: str | None, scope: Scope) -> Refund | None:
    """The refund with this code (RF…) in the scope; else None."""
    code = (code or "").strip().upper()
    if not code or len(code) > 20:
        return None
    return db.session.scalar(scope.apply(select(Refund).where(Refund.code == code), Refund.account_id))


# --- The operations refund queue ----------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters: status ('open' = not final, '' = any), path, account, overdue only."""

    status: str = "open"
    path: str | None = None
    account_id: int | None = None
    overdue_only: bool = False


def _overdue():
    """Flagged overdue by the 4-hour job and still waiting to be submitted (SQL of Refund.is_overdue)."""
    return and_(Refund.overdue_at.is_not(None), Refund.status == RefundStatus.REQUESTED.value)


# The refund queue: overdue refunds still waiting first, then the oldest (the default), or by a column.
REFUND_QUEUE_SORTS = SortOptions(
    columns={
        "priority": (case((_overdue(), 0), else_=1), Refund.created_at, Refund.id),
        "received": (Refund.created_at, Refund.id),
        "code": (Refund.code,),
    },
    default=Sort("priority", descending=False),
)


def _queue_shape(filters: QueueFilters) -> tuple[tuple, dict]:
    """Which of the queue's conditions apply (the shape its statements are built and cached for) and
    their values, bound at each call."""
    status = "open" if filters.status == "open" else ("one" if filters.status else "")
    shape = (status, bool(filters.path), filters.account_id is not None, filters.overdue_only)
    params = {"status": filters.status, "path": filters.path, "account_id": filters.account_id}
    return shape, params


def _queue_conditions(shape: tuple) -> list:
    status, path, account, overdue_only = shape
    conditions = []
    if status == "open":
        conditions.append(Refund.status.not_in([s.value for s in FINAL_STATUSES]))
    elif status == "one":
        conditions.append(Refund.status == bindparam("status"))
    if path:
        conditions.append(Refund.path == bindparam("path"))
    if account:
        conditions.append(Refund.account_id == bindparam("account_id"))
    if overdue_only:
        conditions.append(_overdue())
    return conditions


@cache
def _count_queued_statement(shape: tuple) -> Select:
    return select(func.count(Refund.id), func.min(Refund.created_at)).where(*_queue_conditions(shape))


def count_queued(filters: QueueFilters) -> tuple[int, datetime | None]:
    """How many refunds the queue lists with these filters, and when the oldest of them was received
    (the 4-hour clock of the first overdue one): one query."""
    shape, params = _queue_shape(filters)
    total, oldest = read(_count_queued_statement(shape), params).one()
    return total, oldest


@cache
def _queue_ids_statement(shape: tuple, sort: Sort) -> Select:
    """The ids of one page of the queue, in its order, built once per shape and order (`limit`, `offset`
    and the filters' values bound). Overdue-first is two index reads merged (the overdue refunds still
    waiting, then the rest oldest first and no further than the page needs), rather than an ORDER BY over
    a CASE that sorts every open refund on every visit."""
    conditions = _queue_conditions(shape)
    if sort != REFUND_QUEUE_SORTS.default:
        stmt = select(Refund.id).where(*conditions).order_by(*REFUND_QUEUE_SORTS.order_by(sort))
        return stmt.limit(bindparam("limit")).offset(bindparam("offset"))
    columns = (Refund.id.label("id"), Refund.created_at.label("created_at"))
    # Overdue and waiting: every such refund (few: operations clear them first), read from the partial
    # index of flagged refunds. The same test as _overdue(), with the status behind coalesce so SQLite
    # does not walk every requested refund by the status index instead.
    flagged = and_(
        Refund.overdue_at.is_not(None), func.coalesce(Refund.status, "") == RefundStatus.REQUESTED.value
    )
    waiting = select(*columns, literal_column("0").label("rank")).where(*conditions, flagged)
    # The rest, oldest first by the created index, no further than the page needs.
    rest = (
        select(*columns, literal_column("1").label("rank"))
        .where(*conditions, not_(_overdue()))
        .order_by(Refund.created_at, Refund.id)
        .limit(bindparam("reach"))
        .subquery()
    )
    merged = union_all(waiting, select(rest)).subquery()
    stmt = select(merged.c.id).order_by(merged.c.rank, merged.c.created_at, merged.c.id)
    return stmt.limit(bindparam("limit")).offset(bindparam("offset"))


@cache
def _queue_count_statement(shape: tuple) -> Select:
    capped = select(Refund.id).where(*_queue_conditions(shape)).limit(bindparam("cap_past")).subquery()
    return select(func.count()).select_from(capped)


@dataclass(frozen=True)
class QueueRow(RefundShown):
    """One line of the operations refund queue, read as plain columns (no ORM objects): what the row
    shows, with a Refund's own properties (models.refunds.RefundShown)."""

    id: int
    code: str
    status: str
    path: str
    currency: str
    involuntary: bool
    created_at: datetime
    estimated_amount: Decimal | None
    airline_amount: Decimal | None
    credited_amount: Decimal | None
    service_fee: Decimal
    account_code: str
    order_number: str
    payment_channel: str
    airline_code: str
    # The refund's latest event (every refund has its first): when, and by whom (None for a job).
    last_event_at: datetime | None
    last_actor_name: str | None

    @property
    def order_payment_channel(self) -> str:
        return self.payment_channel

    @property
    def payment_channel_label(self) -> str:
        return PAYMENT_CHANNELS[self.payment_channel]

    @cached_property
    def _shown_once(self):
        return super()._shown()

    def _shown(self):
        # A row is a snapshot, and the queue reads its amount and the amount's note: decided once.
        return self._shown_once


def _queue_rows_statement():
    earlier = aliased(RefundEvent)
    latest = (
        select(func.max(earlier.id)).where(earlier.refund_id == Refund.id).correlate(Refund).scalar_subquery()
    )
    return (
        select(
            Refund.id,
            Refund.code,
            Refund.status,
            Refund.path,
            Refund.currency,
            Refund.involuntary,
            Refund.created_at,
            Refund.estimated_amount,
            Refund.airline_amount,
            Refund.credited_amount,
            Refund.service_fee,
            Account.code,
            Booking.order_number,
            Booking.payment_channel,
            Airline.code,
            RefundEvent.at,
            User.name,
        )
        .join(Booking, Booking.id == Refund.booking_id)
        .join(Airline, Airline.id == Booking.airline_id)
        .join(Account, Account.id == Refund.account_id)
        .outerjoin(RefundEvent, RefundEvent.id == latest)
        .outerjoin(User, User.id == RefundEvent.actor_id)
        .where(Refund.id.in_(bindparam("ids", expanding=True)))
    )


# Built once: it runs on every visit of the queue and only its ids change (building it cost more than
# running it). The columns are QueueRow's fields, in order.
_QUEUE_ROWS = _queue_rows_statement()


def _queue_rows(ids: list[int]) -> list[QueueRow]:
    """The queue's rows of `ids`, in the order of `ids`: one query whatever their number (booking,
    airline and account joined, the latest event and its actor by the event's primary key)."""
    if not ids:
        return []
    loaded = {row[0]: QueueRow(*row) for row in read(_QUEUE_ROWS, {"ids": ids})}
    return [loaded[i] for i in ids if i in loaded]


def queued_refunds(filters: QueueFilters, page: int, per_page: int, sort: Sort | None = None) -> Page:
    """One page of every account's refunds: overdue ones still waiting first, then the oldest; or in the
    order `sort` names (REFUND_QUEUE_SORTS). Counted no further than LIST_COUNT_CAP ("1,000+"): at
    200,000 refunds an exact count cost more than the page."""
    shape, params = _queue_shape(filters)
    ids = _queue_ids_statement(shape, sort or REFUND_QUEUE_SORTS.default)

    def rows(offset: int, limit: int) -> list[int]:
        return list(
            read(ids, {**params, "limit": limit, "offset": offset, "reach": offset + limit}).scalars()
        )

    def counted(cap: int) -> tuple[int, bool]:
        total = read(_queue_count_statement(shape), {**params, "cap_past": cap + 1}).scalar()
        return min(total, cap), total > cap

    return probed_page(rows, counted, page, per_page, cap=LIST_COUNT_CAP, complete=_queue_rows)


def queue_refund(refund_id: int) -> Refund | None:
    """One refund, for an action of the queue (operations see every account)."""
    return db.session.get(Refund, refund_id)


def queue_row(refund_id: int) -> QueueRow | None:
    """One refund's queue row, as the queue shows it (after an action, to replace the row in place)."""
    rows = _queue_rows([refund_id])
    return rows[0] if rows else None
