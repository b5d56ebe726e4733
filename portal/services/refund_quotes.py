"""Refund quotes an agency's system asks for over the API, and the refund one becomes when it is used.

A quote is priced by the same compute_quote the pages show, and stored with its fingerprint; using it
goes through create_refund (shown_fingerprint) and so insert_refunds, the one writer of refunds. A quote
is used at most once: its row is claimed by a conditional UPDATE before the refund is written, so two
calls racing with one quote make one refund and one 409. Flushes, never commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from portal.domain.errors import Conflict
from portal.domain.refunds import Quote, QuoteCase, RefundPath, cancel_refund_path
from portal.extensions import db
from portal.links import path_for
from portal.models import Booking, Passenger, Refund, RefundQuote, Segment, User
from portal.services.refunds import (
    QuoteChanged,
    RefundError,
    compute_quote,
    create_refund,
    involuntary_refusal,
    named_coupons,
    parse_coupon_keys,
    quote_fingerprint,
)
from portal.services.scope import Scope
from portal.services.transitions import claim

PREFIX = "rq_"
MAX_ID = 40


class QuoteUnusable(RefundError, Conflict):
    """The quote cannot make a refund any more: expired, used, or its figures changed (409)."""

    def __init__(self, message: str):
        super().__init__(message, field="quote_id")


@dataclass(frozen=True)
class GivenQuote:
    """A stored quote with its figures and the coupons it priced."""

    row: RefundQuote
    quote: Quote
    selection: list[tuple[Passenger, Segment]]

    @property
    def case(self) -> QuoteCase:
        """The whole quote's case: cannot_quote when any passenger's amount is the airline's to decide,
        non_refundable when every passenger gets nothing, else exact."""
        cases = {q.case for _, q in self.quote.passengers}
        if QuoteCase.CANNOT_QUOTE in cases:
            return QuoteCase.CANNOT_QUOTE
        if cases == {QuoteCase.NON_REFUNDABLE}:
            return QuoteCase.NON_REFUNDABLE
        return QuoteCase.EXACT


def quote_path(*, segments_named: bool, involuntary: bool) -> RefundPath:
    """How a refund from an API quote is recorded: whole tickets as the Refund button (instant quote),
    chosen segments as Cancel & Refund's operator refund, involuntary as the free refund."""
    if not segments_named and not involuntary:
        return RefundPath.INSTANT_QUOTE
    return cancel_refund_path(involuntary=involuntary)


def create_quote(
    booking: Booking,
    *,
    user: User,
    passengers: list[str],
    segments: list[str] | None,
    involuntary: bool,
    now: datetime,
) -> GivenQuote:
    """Price the named coupons as the pages do and keep the quote for PORTAL_API_QUOTE_TTL seconds.

    Refuses (RefundError, CouponTaken) what the Refund button and Cancel & Refund refuse."""
    selection = named_coupons(booking, passengers, segments, now)
    if involuntary and (refusal := involuntary_refusal(booking, selection)):
        raise RefundError(refusal, field="involuntary")
    path = quote_path(segments_named=segments is not None, involuntary=involuntary)
    quote = compute_quote(booking, selection, path=path, involuntary=involuntary, now=now)
    row = RefundQuote(
        public_id=PREFIX + secrets.token_urlsafe(18),
        account_id=booking.account_id,
        user_id=user.id,
        booking_id=booking.id,
        path=path.value,
        coupon_keys=" ".join(f"{p.ref}.{s.ref}" for p, s in selection),
        involuntary=involuntary,
        fingerprint=quote_fingerprint(quote),
        created_at=now,
        expires_at=now + timedelta(seconds=current_app.config["API_QUOTE_TTL"]),
    )
    db.session.add(row)
    db.session.flush()
    return GivenQuote(row, quote, selection)


def load_quote(public_id: str | None, scope: Scope) -> RefundQuote | None:
    """The quote with this id in the scope; another account's is None, as an unknown one is."""
    if not public_id or len(public_id) > MAX_ID or not public_id.startswith(PREFIX):
        return None
    stmt = select(RefundQuote).where(RefundQuote.public_id == public_id)
    return db.session.scalar(scope.apply(stmt, RefundQuote.account_id))


def _new_quote_path(row: RefundQuote) -> str:
    return path_for("api.create_refund_quote", order_number=row.booking.order_number)


def _used(row: RefundQuote) -> QuoteUnusable:
    refund = db.session.get(Refund, row.refund_id) if row.refund_id is not None else None
    made = f" for refund {refund.code}" if refund is not None else ""
    return QuoteUnusable(f"Quote {row.public_id} was already used{made}; a quote makes one refund.")


def check_usable(row: RefundQuote, now: datetime) -> None:
    """Refuse a used or expired quote (409), saying what to do instead."""
    if row.used_at is not None:
        raise _used(row)
    if row.expired(now):
        raise QuoteUnusable(
            f"Quote {row.public_id} expired at {row.expires_at:%Y-%m-%d %H:%M:%S} UTC. A new quote is one "
            f"call away: POST {_new_quote_path(row)}."
        )


def use_quote(row: RefundQuote, *, user: User, now: datetime) -> Refund:
    """The refund of a quote, once: the quote's row is claimed first (a second call, even at the same
    moment, is refused naming the refund), then create_refund prices it again and refuses a changed
    quote, a coupon taken meanwhile or anything else the pages refuse. A refusal undoes the claim."""
    check_usable(row, now)
    if not claim(row, expected={"used_at": None}, values={"used_at": now}):
        raise _used(row)
    booking = row.booking
    changed = QuoteUnusable(
        f"Quote {row.public_id} no longer holds: the booking, its coupons or the service fee changed since "
        f"it was given, so nothing was refunded. A new quote is one call away: POST {_new_quote_path(row)} "
        "with the same passengers."
    )
    try:
        selection = parse_coupon_keys(booking, row.keys)
    except RefundError:
        raise changed from None  # a passenger or segment is no longer on the booking
    try:
        refund = create_refund(
            booking,
            selection,
            path=row.refund_path,
            user=user,
            now=now,
            involuntary=row.involuntary,
            shown_fingerprint=row.fingerprint,
        )
    except QuoteChanged:
        raise changed from None
    row.refund_id = refund.id
    db.session.flush()
    return refund
