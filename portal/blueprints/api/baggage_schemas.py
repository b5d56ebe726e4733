"""Add Baggage over the API: what a booking is offered, and the order it makes."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from portal.blueprints.api.schemas import Instant, Strict, money

MAX_ID = 2**31 - 1  # the database's integer ids


def reference(example: str, description: str, max_length: int = 20):
    return fields.String(
        required=True,
        validate=[
            validate.Length(min=1, max=max_length),
            validate.Predicate("isprintable", error="Remove the control characters (such as a NUL byte)."),
        ],
        metadata={"example": example, "description": description},
    )


# --- what a booking is offered --------------------------------------------------------------------------


class _Available(ma.Schema):
    available = fields.Boolean(required=True, attribute="selectable")
    reason_code = fields.String(
        required=True,
        allow_none=True,
        attribute="refusal",
        metadata={
            "description": "Why not, as a code: booking_not_ticketed, infant, segment_cancelled, departed, "
            "in_refund, already_ordered, other_airline, option_inactive, other_currency; null when available."
        },
    )
    reason = fields.String(required=True, allow_none=True, metadata={"description": "Why not, for people."})


class OfferedOptionSchema(_Available):
    id = fields.Integer(
        required=True, attribute="option.id", metadata={"description": "The `option` to order it with."}
    )
    code = fields.String(required=True, attribute="option.code", metadata={"example": "XBAG20"})
    description = fields.String(required=True, attribute="option.description")
    weight_kg = fields.Integer(required=True, attribute="option.weight_kg")
    price = money("option.price_money")


class ChoiceSchema(_Available):
    ref = fields.String(required=True, metadata={"example": "P1"})
    label = fields.String(required=True)


class CouponChoiceSchema(_Available):
    passenger = fields.String(required=True, attribute="passenger_ref", metadata={"example": "P1"})
    segment = fields.String(required=True, attribute="segment_ref", metadata={"example": "S1"})
    baggage_order = fields.String(
        required=True,
        allow_none=True,
        attribute="order_code",
        metadata={"description": "The live order holding this passenger's flight, if any."},
    )


class BaggageOptionsSchema(ma.Schema):
    order_number = fields.String(required=True)
    currency = fields.String(required=True)
    options = fields.List(
        fields.Nested(OfferedOptionSchema),
        required=True,
        metadata={"description": "The airline's catalogue, lightest first."},
    )
    passengers = fields.List(fields.Nested(ChoiceSchema), required=True)
    segments = fields.List(fields.Nested(ChoiceSchema), required=True)
    coupons = fields.List(
        fields.Nested(CouponChoiceSchema),
        required=True,
        metadata={"description": "Every passenger on every segment: may baggage be ordered for it?"},
    )


# --- ordering ---------------------------------------------------------------------------------------------


class BaggageOrderInput(Strict):
    """What Add Baggage posts: one passenger, one flight, one option."""

    order_number = reference("AT10000001", "The booking.", max_length=20)
    passenger = reference("P1", "The passenger's `ref`.")
    segment = reference("S1", "The segment's `ref`.")
    option = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": "An option's `id` from the booking's baggage-options."},
    )


class BaggageOrderSchema(ma.Schema):
    code = fields.String(required=True, metadata={"example": "BG00000001"})
    order_number = fields.String(required=True, attribute="booking.order_number")
    passenger = fields.String(required=True, attribute="passenger.ref")
    segment = fields.String(required=True, attribute="segment.ref")
    option = fields.Integer(required=True, attribute="option_id")
    option_code = fields.String(required=True, attribute="option.code")
    description = fields.String(required=True)
    price = money("price_money")
    status = fields.String(required=True, metadata={"description": "requested, confirmed or failed"})
    settlement = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Once confirmed: balance (debited from the deposit) or card."},
    )
    failure_reason = fields.String(required=True, allow_none=True)
    created_at = Instant(required=True)
    decided_at = Instant(required=True, allow_none=True)
