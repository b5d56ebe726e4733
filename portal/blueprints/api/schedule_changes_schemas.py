"""Airline schedule changes over the API: the list, and the answer Accept change."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from portal.blueprints.api.baggage_schemas import MAX_ID
from portal.blueprints.api.schemas import DEFAULT_LIMIT, LIST_LIMIT, Instant, LocalTime, Strict
from portal.services.schedule_changes import STATES


class ScheduleChangeQuery(Strict):
    status = fields.String(
        validate=validate.OneOf(STATES),
        metadata={"description": "open (waiting for your answer), accepted or refund; any when left out."},
    )
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=LIST_LIMIT))
    cursor = fields.String(metadata={"description": "`next_cursor` of the previous page."})


class ScheduleChangeSchema(ma.Schema):
    id = fields.Integer(required=True, metadata={"description": "Name it when you accept the change."})
    order_number = fields.String(required=True, attribute="booking.order_number")
    segment = fields.String(required=True, attribute="segment.ref", metadata={"example": "S1"})
    flight_number = fields.String(required=True, attribute="segment.flight_number")
    origin = fields.String(required=True, attribute="segment.origin")
    destination = fields.String(required=True, attribute="segment.destination")
    kind = fields.String(
        required=True, metadata={"description": "time_changed, or cancelled (by the airline)"}
    )
    status = fields.String(
        required=True,
        attribute="state",
        metadata={"description": "open, accepted, or refund (a free refund took the flight)"},
    )
    detected_at = Instant(required=True, metadata={"description": "When the import found it."})
    old_departure_at = LocalTime(required=True, attribute="old_departure_local")
    new_departure_at = LocalTime(required=True, attribute="new_departure_local")
    old_arrival_at = LocalTime(required=True, attribute="old_arrival_local")
    new_arrival_at = LocalTime(required=True, attribute="new_arrival_local")
    answered_at = Instant(required=True, allow_none=True, attribute="acknowledged_at")
    refund_code = fields.String(
        required=True, allow_none=True, metadata={"description": "The free refund that answered it."}
    )


class ScheduleChangePage(ma.Schema):
    data = fields.List(fields.Nested(ScheduleChangeSchema), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class AcceptInput(Strict):
    changes = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID)),
        required=True,
        validate=validate.Length(min=1, max=LIST_LIMIT),
        metadata={
            "description": "The ids of the changes you read: every open change of the booking (a 409 if one "
            "you did not name is open). Changes already answered are left as they are."
        },
    )


class AcceptedSchema(ma.Schema):
    order_number = fields.String(required=True)
    accepted = fields.Integer(
        required=True, metadata={"description": "How many this call accepted (0: all were answered before)."}
    )
    action_required = fields.Boolean(
        required=True, metadata={"description": "Whether the booking still has an open change."}
    )
    changes = fields.List(
        fields.Nested(ScheduleChangeSchema), required=True, metadata={"description": "The changes named."}
    )
