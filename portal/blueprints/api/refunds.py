"""Refunds over the API: quotes and the refund a quote becomes, Refund Claims with their proof, the
refunds list and one refund, and the follow-up from day 21. The same services as the pages."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app

from portal.blueprints.api.base import Shown, actor, after_cursor, bp, cursor_page, not_found, problems, scope
from portal.blueprints.api.idempotency import idempotent
from portal.blueprints.api.refunds_schemas import (
    FollowUpInput,
    FollowUpSent,
    RefundClaimInput,
    RefundPage,
    RefundQuery,
    RefundQuoteInput,
    RefundQuoteSchema,
    RefundSchema,
    UseQuoteInput,
)
from portal.blueprints.api.schemas import Strict
from portal.clock import utcnow
from portal.errors import problem_for
from portal.security import found
from portal.services.bookings import load_booking
from portal.services.finance import RefundFilters, refunds_after
from portal.services.followups import follow_up
from portal.services.refund_quotes import create_quote, load_quote, use_quote
from portal.services.refunds import load_refund, named_coupons, submit_refund_claim
from portal.uow import attempt


@bp.route("/bookings/<order_number>/refund-quotes", methods=["POST"])
@idempotent
@bp.arguments(RefundQuoteInput)
@bp.response(201, RefundQuoteSchema)
@problems(401, 404, 409, 422, 429)
def create_refund_quote(body, order_number):
    """A quote for refunding the named passengers (and segments), as the Refund button and Cancel &
    Refund price it. Use its `id` once, before `expires_at`, with POST /refunds."""
    booking = found(load_booking(order_number, scope()))
    with attempt() as outcome:
        given = create_quote(
            booking,
            user=actor(),
            passengers=body["passengers"],
            segments=body["segments"],
            involuntary=body["involuntary"],
            now=utcnow(),
        )
    if outcome.failed:
        return problem_for(outcome.error)
    return given


@bp.route("/refunds", methods=["POST"])
@idempotent
@bp.arguments(UseQuoteInput)
@bp.response(201, RefundSchema)
@problems(401, 404, 409, 422, 429)
def create_refund_from_quote(body):
    """The refund of a quote (status `requested`: the host submits it to the airline). 409 when the
    quote expired, was used, or no longer holds (the booking, its coupons or the fee changed: ask for a
    new quote), or a coupon is already in a refund."""
    quote = load_quote(body["quote_id"], scope())
    if quote is None:
        return not_found("quote_id", "quote")
    with attempt() as outcome:
        refund = use_quote(quote, user=actor(), now=utcnow())
    if outcome.failed:
        return problem_for(outcome.error)
    return refund


@bp.route("/refund-claims", methods=["POST"])
@idempotent
@bp.arguments(RefundClaimInput, location="form", content_type="multipart/form-data")
@bp.response(201, RefundSchema)
@problems(401, 404, 409, 413, 422, 429)
def create_refund_claim(form):
    """A Refund Claim (the airline refunded the agency or passenger; status `submitted`), with the
    airline's confirmation as `proof`. `passengers` and `segments` may repeat or be comma-separated."""
    booking = load_booking(form["order_number"], scope())
    if booking is None:
        return not_found("order_number", "booking")
    now = utcnow()
    with attempt() as outcome:
        refund = submit_refund_claim(
            booking,
            named_coupons(booking, form["passengers"], form.get("segments"), now),
            user=actor(),
            reason_code=form["reason"],
            airline_fulfilled_on=form["airline_fulfilled_on"],
            proof_file=form["proof"],
            note=form.get("note"),
            now=now,
        )
    if outcome.failed:
        return problem_for(outcome.error)
    return refund


@bp.route("/refunds", methods=["GET"])
@bp.arguments(RefundQuery, location="query", unknown=ma.RAISE, as_kwargs=True)
@bp.response(200, RefundPage)
@problems(401, 422, 429)
def list_refunds(limit, cursor=None, status=None, path=None, order_number=None):
    """Your account's refunds, newest first (Finance → Refunds' conditions), a page at a time."""
    filters = RefundFilters(status=status, path=path, order_number=order_number)
    zone = current_app.config["TIMEZONE"]
    return cursor_page(refunds_after(filters, scope(), after_cursor(cursor), limit, zone))


@bp.route("/refunds/<code>", methods=["GET"])
@bp.arguments(Strict, location="query", unknown=ma.RAISE)
@bp.response(200, RefundSchema)
@problems(401, 404, 422, 429)
def get_refund(_no_parameters, code):
    """One refund: status, amounts, quote lines, coupons, events and when it may be followed up."""
    return found(load_refund(code, scope()))


@bp.route("/refunds/<code>/follow-up", methods=["POST"])
@idempotent
@bp.arguments(FollowUpInput, required=False)
@bp.response(201, FollowUpSent)
@problems(401, 404, 409, 422, 429)
def follow_up_refund(body, code):
    """Follow a refund up, from day 21 and once a day, as on Refund Info: the message goes to the
    refund's service request (reopened if processed), or a new Cancel & Refund request. 409 before then,
    saying from which date."""
    refund = found(load_refund(code, scope()))
    now = utcnow()
    with attempt() as outcome:
        req = follow_up(refund, user=actor(), message=body["message"], now=now)
    if outcome.failed:
        return problem_for(outcome.error)
    return Shown(req, refund_code=refund.code, followed_up_at=now)
