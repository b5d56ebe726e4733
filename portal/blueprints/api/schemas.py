"""The API's request and response schemas (marshmallow): what the views validate and dump, and what
flask-smorest turns into the OpenAPI document. Field names are the contract of docs/API (shared/API.md)."""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from marshmallow import fields, validate

from portal.domain.money import Money
from portal.domain.webhooks import EVENT_TYPES, MAX_URL

LIST_LIMIT = 100
DEFAULT_LIMIT = 25


class Strict(ma.Schema):
    """Input schemas refuse what they do not know: an unknown field is a 422 that names it."""

    class Meta:
        unknown = ma.RAISE


class Instant(fields.DateTime):
    """An instant, in RFC 3339 with `Z` (times are stored in UTC)."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class LocalTime(fields.DateTime):
    """A time with the offset of its place (a segment's airport), in RFC 3339."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.isoformat()


# --- problems ----------------------------------------------------------------------------------------


class FieldError(ma.Schema):
    field = fields.String(required=True, metadata={"description": "The input the message is about."})
    message = fields.String(required=True)


class Problem(ma.Schema):
    """RFC 9457 problem details (`application/problem+json`)."""

    type = fields.String(required=True, metadata={"example": "about:blank"})
    title = fields.String(required=True, metadata={"example": "Unprocessable Content"})
    status = fields.Integer(required=True, metadata={"example": 422})
    detail = fields.String(required=True)
    errors = fields.List(
        fields.Nested(FieldError), metadata={"description": "For invalid input: one entry per field."}
    )


# --- values ------------------------------------------------------------------------------------------


class MoneySchema(ma.Schema):
    """An exact amount: a string with the currency's decimals (never a number), and the ISO 4217 code."""

    amount = fields.String(required=True, metadata={"example": "440.00"})
    currency = fields.String(required=True, metadata={"example": "SGD"})

    @ma.pre_dump
    def _from_money(self, money: Money, **kwargs):
        return {"amount": money.plain, "currency": money.currency}


def money(attribute: str | None = None, **metadata):
    return fields.Nested(MoneySchema, attribute=attribute, required=True, metadata=metadata)


# --- bookings ----------------------------------------------------------------------------------------

BOOKING_STATUS_FILTERS = ("ticketed", "cancelled", "action_required")


class BookingQuery(Strict):
    """My Bookings' filters, and the cursor pagination of every list."""

    q = fields.String(
        validate=validate.Length(max=80),
        metadata={"description": "The start of an order number, PNR, passenger name or ticket number."},
    )
    status = fields.String(validate=validate.OneOf(BOOKING_STATUS_FILTERS))
    departure_from = fields.Date(metadata={"description": "First departure on or after (YYYY-MM-DD)."})
    departure_to = fields.Date(metadata={"description": "First departure on or before (YYYY-MM-DD)."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=LIST_LIMIT))
    cursor = fields.String(metadata={"description": "`next_cursor` of the previous page."})

    @ma.validates_schema
    def _dates_in_order(self, data, **kwargs):
        start, end = data.get("departure_from"), data.get("departure_to")
        if start and end and end < start:
            raise ma.ValidationError("The end date is before the start date.", "departure_to")


class BookingSummary(ma.Schema):
    order_number = fields.String(required=True, metadata={"example": "AT10000001"})
    pnr = fields.String(required=True)
    status = fields.String(
        required=True,
        attribute="shown_status",
        metadata={"description": "ticketed, cancelled, partly_refunded or refunded"},
    )
    airline = fields.String(required=True, attribute="airline.code")
    payment_channel = fields.String(required=True)
    currency = fields.String(required=True)
    route = fields.String(required=True)
    issued_at = Instant(required=True)
    first_departure_date = fields.Date(required=True)
    action_required = fields.Boolean(required=True)
    total = money("fare_total", description="Base fares and taxes of every passenger.")


class BookingPage(ma.Schema):
    data = fields.List(fields.Nested(BookingSummary), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class PassengerSchema(ma.Schema):
    ref = fields.String(required=True, metadata={"example": "P1"})
    type = fields.String(required=True, attribute="ptype", metadata={"description": "ADT, CHD or INF"})
    title = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    ticket_number = fields.String(required=True)
    base_fare = money("base_money")
    taxes = money("taxes_money")
    refundable_taxes = money("refundable_taxes_money")
    cancellation_fee = money("cancellation_fee_money")
    change_fee = money("change_fee_money")
    refundable = fields.Boolean(required=True)
    changeable = fields.Boolean(required=True)


class SegmentSchema(ma.Schema):
    ref = fields.String(required=True, metadata={"example": "S1"})
    flight_number = fields.String(required=True)
    origin = fields.String(required=True)
    destination = fields.String(required=True)
    departure_at = LocalTime(required=True, attribute="departure_local")
    arrival_at = LocalTime(required=True, attribute="arrival_local")
    cabin = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "confirmed or cancelled (by the airline)"})


class CouponSchema(ma.Schema):
    passenger = fields.String(required=True, attribute="passenger.ref")
    segment = fields.String(required=True, attribute="segment.ref")
    state = fields.String(
        required=True, metadata={"description": "refundable, flown, in_refund or booking_cancelled"}
    )
    refund_code = fields.String(required=True, allow_none=True, metadata={"description": "When in a refund."})
    reason = fields.String(
        required=True, allow_none=True, metadata={"description": "Why it cannot be refunded."}
    )


class BookingDetails(BookingSummary):
    contact_email = fields.String(required=True)
    contact_phone = fields.String(required=True)
    passengers = fields.List(fields.Nested(PassengerSchema), required=True)
    segments = fields.List(fields.Nested(SegmentSchema), required=True)
    coupons = fields.List(fields.Nested(CouponSchema), required=True)


# --- webhooks ----------------------------------------------------------------------------------------


class ListQuery(Strict):
    """Cursor pagination, as every list."""

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=LIST_LIMIT))
    cursor = fields.String(metadata={"description": "`next_cursor` of the previous page."})


class WebhookEndpointInput(Strict):
    url = fields.String(
        required=True,
        validate=validate.Length(max=MAX_URL),
        metadata={"example": "https://example.com/portal-webhooks", "description": "https:// only."},
    )
    events = fields.List(
        fields.String(validate=validate.Length(max=60)),
        required=True,
        validate=validate.Length(max=len(EVENT_TYPES)),
        metadata={"description": "Any of: " + ", ".join(EVENT_TYPES)},
    )


class WebhookEndpointSchema(ma.Schema):
    id = fields.Integer(required=True)
    url = fields.String(required=True)
    events = fields.List(fields.String(), required=True)
    created_at = Instant(required=True)


class WebhookEndpointCreated(WebhookEndpointSchema):
    secret = fields.String(
        required=True,
        metadata={"description": "Signs every delivery (Portal-Signature). Shown on this answer only."},
    )


class WebhookEndpointPage(ma.Schema):
    data = fields.List(fields.Nested(WebhookEndpointSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)
