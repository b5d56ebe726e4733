"""The refunds API's schemas: quotes, refunds from a quote, Refund Claims (multipart), the refunds list
and a refund with its events and follow-up availability, and the follow-up."""

from __future__ import annotations

import marshmallow as ma
from flask import request
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from portal.blueprints.api.base import Shown
from portal.blueprints.api.schemas import Instant, ListQuery, MoneySchema, Strict, money
from portal.clock import utcnow
from portal.domain.money import Money
from portal.domain.refunds import QuoteCase, RefundPath, RefundStatus
from portal.domain.text import has_control_characters
from portal.services.followups import follow_up_from_date, follow_up_state

MAX_REF = 10  # P1, S12: the booking import's passenger and segment refs
MAX_REFS = 50
MAX_ORDER_NUMBER = 20
MAX_REASON = 40
MAX_NOTE = 2000
MAX_MESSAGE = 4000


def _plain_text(value: str) -> None:
    if has_control_characters(value):
        raise ma.ValidationError("Remove the control character (such as a NUL byte); it is not accepted.")


def _text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(max=max_length), _plain_text], **kwargs)


def _ref() -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=MAX_REF), _plain_text])


def nullable_money(attribute: str | None = None, **metadata):
    """Money, or null where there is no amount (yet)."""
    return fields.Nested(MoneySchema, attribute=attribute, required=True, allow_none=True, metadata=metadata)


def _refs(description: str, **kwargs) -> fields.List:
    return fields.List(
        _ref(), validate=validate.Length(min=1, max=MAX_REFS), metadata={"description": description}, **kwargs
    )


# --- quotes ------------------------------------------------------------------------------------------


class RefundQuoteInput(Strict):
    passengers = _refs("Passenger refs (P1, …) to refund.", required=True)
    segments = _refs(
        "Segment refs (S1, …) of those passengers to refund. Omitted: every segment of theirs that can "
        "still be refunded (whole tickets, as the Refund button).",
        load_default=None,
    )
    involuntary = fields.Boolean(
        load_default=False,
        metadata={
            "description": "A free refund for the airline's cancellation or unanswered schedule change "
            "(no fees)."
        },
    )


class RefundQuoteLineSchema(ma.Schema):
    """One passenger's line: fare − cancellation fee + refundable taxes − service fee = amount."""

    ref = fields.String(required=True, metadata={"example": "P1"})
    case = fields.String(
        required=True, metadata={"description": "exact, cannot_quote (the airline decides) or non_refundable"}
    )
    fare = money()
    cancellation_fee = money()
    refundable_taxes = money()
    service_fee = money()
    amount = nullable_money(description="Null when it cannot be quoted: the airline's amount applies.")
    nothing_because = fields.String(
        required=True,
        allow_none=True,
        metadata={
            "description": "Why an exact quote comes to 0: non_refundable_fare, cancellation_fee, "
            "service_fee or nothing_paid."
        },
    )
    label = fields.String(required=True, metadata={"description": "How the portal titles the line."})

    @ma.pre_dump
    def _from_pair(self, pair, **kwargs):
        ref, line = pair
        return {
            "ref": ref,
            "case": line.case.value,
            "fare": line.fare,
            "cancellation_fee": line.cancellation_fee,
            "refundable_taxes": line.refundable_taxes,
            "service_fee": line.service_fee,
            "amount": line.amount,
            "nothing_because": None if line.nothing_because is None else line.nothing_because.value,
            "label": line.label,
        }


class QuotedCouponSchema(ma.Schema):
    passenger = fields.String(required=True, metadata={"example": "P1"})
    segment = fields.String(required=True, metadata={"example": "S1"})

    @ma.pre_dump
    def _from_pair(self, pair, **kwargs):
        passenger, segment = pair
        return {"passenger": passenger.ref, "segment": segment.ref}


class RefundQuoteSchema(ma.Schema):
    id = fields.String(
        required=True, attribute="row.public_id", metadata={"description": "Use it once: POST /refunds."}
    )
    order_number = fields.String(required=True, attribute="row.booking.order_number")
    involuntary = fields.Boolean(required=True, attribute="row.involuntary")
    path = fields.String(
        required=True,
        attribute="row.path",
        metadata={
            "description": "How the refund will be recorded: instant_quote, cancel_refund or free_refund"
        },
    )
    case = fields.Function(
        lambda given: given.case.value,
        required=True,
        metadata={
            "description": "cannot_quote when any passenger cannot be quoted; non_refundable when every "
            "passenger gets nothing; else exact",
            "type": "string",
            "enum": [c.value for c in QuoteCase],
        },
    )
    total = nullable_money("quote.total", description="Null when a passenger cannot be quoted.")
    acceptable = fields.Boolean(
        required=True, attribute="quote.acceptable", metadata={"description": "Whether it can be used."}
    )
    refusal = fields.String(
        required=True, allow_none=True, attribute="quote.refusal", metadata={"description": "Why not."}
    )
    passengers = fields.List(
        fields.Nested(RefundQuoteLineSchema), required=True, attribute="quote.passengers"
    )
    coupons = fields.List(
        fields.Nested(QuotedCouponSchema),
        required=True,
        attribute="selection",
        metadata={"description": "Priced."},
    )
    created_at = Instant(required=True, attribute="row.created_at")
    expires_at = Instant(required=True, attribute="row.expires_at")


class UseQuoteInput(Strict):
    quote_id = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=40), _plain_text],
        metadata={
            "description": "The `id` of a quote of yours (POST /bookings/{order_number}/refund-quotes)."
        },
    )


# --- Refund Claims (multipart/form-data) ---------------------------------------------------------------


class RefList(fields.List):
    """Refs sent as repeated form fields (passengers=P1&passengers=P2), comma-separated (P1,P2), or both."""

    def _deserialize(self, value, attr, data, **kwargs):
        values = value if isinstance(value, list | tuple) else [value]
        if not all(isinstance(v, str) for v in values):
            raise ma.ValidationError("Send refs as text: P1,P2 or the field repeated.")
        split = [ref.strip() for v in values for ref in v.split(",") if ref.strip()]
        return super()._deserialize(split, attr, data, **kwargs)


class RefundClaimInput(Strict):
    """A Refund Claim: the airline refunded the agency or the passenger; the proof is its confirmation."""

    order_number = fields.String(
        required=True, validate=[validate.Length(min=1, max=MAX_ORDER_NUMBER), _plain_text]
    )
    passengers = RefList(
        _ref(),
        required=True,
        validate=validate.Length(min=1, max=MAX_REFS),
        metadata={"description": "Passenger refs: the field repeated, or comma-separated (P1,P2)."},
    )
    segments = RefList(
        _ref(),
        validate=validate.Length(min=1, max=MAX_REFS),
        metadata={
            "description": "Segment refs, as passengers. Omitted: every segment of theirs that can "
            "still be refunded."
        },
    )
    reason = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_REASON), _plain_text],
        metadata={"description": "The code of an active refund reason."},
    )
    airline_fulfilled_on = fields.Date(
        required=True, metadata={"description": "The day the airline refunded (YYYY-MM-DD)."}
    )
    proof = Upload(
        required=True, metadata={"description": "The airline's confirmation: PDF, PNG or JPEG, up to 10 MB."}
    )
    note = _text(MAX_NOTE)

    @ma.pre_load
    def _with_files(self, data, **kwargs):
        # webargs reads one location; a claim's file travels beside its fields in the same multipart body.
        return MultiDictProxy(CombinedMultiDict([request.form, request.files]), self)

    @ma.validates("proof")
    def _a_file(self, value, **kwargs):
        if not hasattr(value, "stream"):
            raise ma.ValidationError("Send the proof as a file (multipart/form-data).")


# --- refunds -----------------------------------------------------------------------------------------


class RefundQuery(ListQuery):
    status = fields.String(validate=validate.OneOf([s.value for s in RefundStatus]))
    path = fields.String(validate=validate.OneOf([p.value for p in RefundPath]))
    order_number = fields.String(validate=[validate.Length(min=1, max=MAX_ORDER_NUMBER), _plain_text])


class RefundLineSchema(ma.Schema):
    """One passenger's quote line as the refund was accepted."""

    ref = fields.String(required=True, attribute="passenger.ref")
    case = fields.String(required=True, attribute="quote_case")
    fare = money()
    cancellation_fee = money()
    refundable_taxes = money()
    service_fee = money()
    amount = nullable_money()

    @ma.pre_dump
    def _as_money(self, line, **kwargs):
        currency = line.refund.currency
        return {
            "passenger": line.passenger,
            "quote_case": line.quote_case,
            "fare": Money(line.fare, currency),
            "cancellation_fee": Money(line.cancellation_fee, currency),
            "refundable_taxes": Money(line.refundable_taxes, currency),
            "service_fee": Money(line.service_fee, currency),
            "amount": line.amount_money,
        }


class RefundCouponSchema(ma.Schema):
    passenger = fields.String(required=True, attribute="passenger.ref")
    segment = fields.String(required=True, attribute="segment.ref")
    live = fields.Boolean(required=True, metadata={"description": "False once the refund is rejected."})


class RefundEventSchema(ma.Schema):
    at = Instant(required=True)
    from_status = fields.String(required=True, allow_none=True)
    to_status = fields.String(required=True)
    text = fields.Function(
        lambda e: e.to_label + (f": {e.note}" if e.note else ""),
        required=True,
        metadata={"type": "string", "description": "What happened, as Refund Info shows it."},
    )


class FollowUpAvailability(ma.Schema):
    available = fields.Boolean(required=True, metadata={"description": "POST …/follow-up may be sent now."})
    available_from = fields.Date(
        required=True,
        allow_none=True,
        metadata={"description": "The first day it may be (day 21, the portal's zone); null once final."},
    )


def _follow_up(refund) -> dict:
    available, _ = follow_up_state(refund, utcnow())
    return {"available": available, "available_from": follow_up_from_date(refund)}


class RefundSchema(ma.Schema):
    code = fields.String(required=True, metadata={"example": "RF00000042"})
    status = fields.String(required=True, metadata={"description": ", ".join(s.value for s in RefundStatus)})
    path = fields.String(required=True, metadata={"description": ", ".join(p.value for p in RefundPath)})
    order_number = fields.String(required=True, attribute="booking.order_number")
    involuntary = fields.Boolean(required=True)
    currency = fields.String(required=True)
    estimated_amount = nullable_money("estimate", description="The quote as accepted; null if none.")
    airline_amount = nullable_money("airline_money", description="What the airline refunded, once recorded.")
    credited_amount = nullable_money("credited_money", description="Credited to the balance, once refunded.")
    actual_amount = nullable_money(
        description="Credited (or paid to the card) once refunded, else the airline's."
    )
    service_fee = money("service_fee_money")
    reason = fields.Function(
        lambda r: r.reason.code if r.reason is not None else None,
        required=True,
        allow_none=True,
        metadata={"description": "A Refund Claim's reason code."},
    )
    airline_fulfilled_on = fields.Date(required=True, allow_none=True)
    note = fields.String(required=True, allow_none=True)
    rejection_reason = fields.String(required=True, allow_none=True)
    passengers = fields.List(fields.Nested(RefundLineSchema), required=True)
    coupons = fields.List(fields.Nested(RefundCouponSchema), required=True)
    events = fields.List(fields.Nested(RefundEventSchema), required=True)
    follow_up = fields.Nested(FollowUpAvailability, required=True)
    created_at = Instant(required=True, metadata={"description": "Received by the host."})
    submitted_at = Instant(
        required=True, allow_none=True, metadata={"description": "Submitted to the airline."}
    )
    updated_at = Instant(required=True)

    @ma.pre_dump
    def _with_follow_up(self, refund, **kwargs):
        return Shown(refund, follow_up=_follow_up(refund))


class RefundPage(ma.Schema):
    data = fields.List(fields.Nested(RefundSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class FollowUpInput(Strict):
    message = _text(MAX_MESSAGE, load_default="", metadata={"description": "Added to the follow-up."})


class FollowUpSent(ma.Schema):
    refund_code = fields.String(required=True)
    request_number = fields.String(
        required=True, attribute="number", metadata={"description": "The service request it went to."}
    )
    request_status = fields.String(required=True, attribute="status")
    followed_up_at = Instant(required=True)
