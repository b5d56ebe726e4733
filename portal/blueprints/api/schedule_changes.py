"""Airline schedule changes over the API: the account's changes, and Accept change on a booking through
the same service as the page (with every open change named, so none is accepted unread)."""

from __future__ import annotations

import marshmallow as ma

from portal.blueprints.api.base import Shown, actor, after_cursor, bp, cursor_page, problems, scope
from portal.blueprints.api.idempotency import idempotent
from portal.blueprints.api.schedule_changes_schemas import (
    AcceptedSchema,
    AcceptInput,
    ScheduleChangePage,
    ScheduleChangeQuery,
)
from portal.errors import problem_for
from portal.security import found
from portal.services.bookings import load_booking
from portal.services.schedule_changes import accept_changes, changes_after
from portal.uow import attempt


@bp.route("/schedule-changes", methods=["GET"])
@bp.arguments(ScheduleChangeQuery, location="query", unknown=ma.RAISE, as_kwargs=True)
@bp.response(200, ScheduleChangePage)
@problems(401, 422, 429)
def list_schedule_changes(limit, cursor=None, status=None):
    """Your account's airline schedule changes, newest found first, a page at a time: each with its
    booking and segment, the old and new times (with the airports' offsets), its kind and status."""
    return cursor_page(changes_after(status or "", scope(), after_cursor(cursor), limit))


@bp.route("/bookings/<order_number>/schedule-changes/accept", methods=["POST"])
@idempotent
@bp.arguments(AcceptInput)
@bp.response(200, AcceptedSchema)
@problems(401, 404, 409, 422, 429)
def accept_schedule_changes(body, order_number):
    """Accept change: the booking keeps the airline's new schedule. Name the ids of the changes you read;
    when another change is open (found after you looked) nothing is accepted and the answer is a 409.
    Naming changes already answered is not an error: `accepted` is then 0."""
    booking = found(load_booking(order_number, scope()))
    with attempt() as outcome:
        accepted = accept_changes(booking, body["changes"], user=actor(), every_open=True)
    if outcome.failed:
        return problem_for(outcome.error)
    named = set(body["changes"])
    return Shown(
        booking,
        accepted=accepted,
        changes=[change for change in booking.schedule_changes if change.id in named],
    )
