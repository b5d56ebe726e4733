"""Add Baggage over the API: what a booking is offered (per option, passenger, segment and both), and
ordering one line, as the slide-out does, through the same service."""

from __future__ import annotations

import marshmallow as ma

from portal.blueprints.api.baggage_schemas import BaggageOptionsSchema, BaggageOrderInput, BaggageOrderSchema
from portal.blueprints.api.base import Shown, actor, bp, not_found, problems, scope
from portal.blueprints.api.idempotency import idempotent
from portal.blueprints.api.schemas import Strict
from portal.clock import utcnow
from portal.errors import problem_for
from portal.security import found
from portal.services.baggage import (
    catalogue,
    coupon_choices,
    create_baggage_order,
    passenger_choices,
    segment_choices,
)
from portal.services.bookings import load_booking
from portal.uow import attempt


@bp.route("/bookings/<order_number>/baggage-options", methods=["GET"])
@bp.arguments(Strict, location="query", unknown=ma.RAISE)
@bp.response(200, BaggageOptionsSchema)
@problems(401, 404, 422, 429)
def baggage_options(_no_parameters, order_number):
    """What Add Baggage offers on this booking: the airline's options with their weight and price, and
    for every passenger, segment and passenger on a segment whether baggage may be ordered, and why not.
    Another account's booking is a 404, as an unknown one is."""
    booking = found(load_booking(order_number, scope()))
    now = utcnow()
    return Shown(
        booking,
        options=catalogue(booking),
        passengers=passenger_choices(booking),
        segments=segment_choices(booking, now),
        coupons=coupon_choices(booking, now),
    )


@bp.route("/baggage-orders", methods=["POST"])
@idempotent
@bp.arguments(BaggageOrderInput)
@bp.response(201, BaggageOrderSchema)
@problems(401, 404, 409, 422, 429)
def order_baggage(body):
    """Order baggage for one passenger on one segment (what the Add Baggage form posts). The order starts
    `requested`; operations confirm or fail it with the airline (`baggage_order.status_changed`). 409 when
    the passenger's flight already has a live order or is in a refund; 404 for a booking not of your
    account, naming `order_number`."""
    booking = load_booking(body["order_number"], scope())
    if booking is None:
        return not_found("order_number", "booking")
    with attempt() as outcome:
        order = create_baggage_order(
            booking,
            passenger_ref=body["passenger"],
            segment_ref=body["segment"],
            option_id=body["option"],
            user=actor(),
        )
    if outcome.failed:
        return problem_for(outcome.error)
    return order
