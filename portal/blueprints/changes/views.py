"""Schedule changes: Accept change and Free refund on Booking Details, and the operations list."""

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from portal.blueprints.changes.forms import ScheduleChangeFilters
from portal.clock import utcnow
from portal.forms import account_choices
from portal.htmx import is_partial, page_number, render, sort_order
from portal.security import booking_or_404, staff_required
from portal.services.schedule_changes import (
    SCHEDULE_CHANGE_SORTS,
    ChangeFilters,
    accept_changes,
    free_refund_coupons,
    schedule_change_list,
)
from portal.uow import attempt

bp = Blueprint("changes", __name__)


@bp.post("/bookings/<order_number>/schedule-changes/accept")
@login_required
def accept_change(order_number):
    """Accept change: the agency takes the airline's new schedule for the changes shown."""
    booking = booking_or_404(order_number)
    message = None
    with attempt() as outcome:
        accepted = accept_changes(booking, request.form.getlist("change"), user=current_user)
        message = (
            "Schedule change accepted. The booking keeps the airline's new schedule."
            if accepted
            else "This schedule change was already answered; nothing more to do."
        )
    error = outcome.message
    if outcome.failed:
        booking = booking_or_404(order_number)
    if is_partial():
        return render(
            "schedule/_accept_response.html", booking=booking, message=message, error=error
        ), outcome.status
    flash(error or message, "error" if error else "success")
    return redirect(url_for("bookings.booking_details", order_number=booking.order_number), code=303)


@bp.get("/bookings/<order_number>/schedule-changes/free-refund")
@login_required
def free_refund(order_number):
    """Free refund: Cancel & Refund's operator-refund step, involuntary, with the coupons preselected."""
    booking = booking_or_404(order_number)
    keys = free_refund_coupons(booking, utcnow())
    if not keys:
        flash(
            "Nothing is left to refund on this booking: every flight is flown, cancelled or already in a "
            "refund. See Refund Info.",
            "error",
        )
        return redirect(url_for("bookings.booking_details", order_number=booking.order_number), code=303)
    return redirect(
        url_for("refunds.operator_refund", order_number=booking.order_number, coupon=keys, involuntary="1"),
        code=303,
    )


@bp.get("/operations/schedule-changes")
@staff_required
def schedule_changes():
    filters = ScheduleChangeFilters(request.args)
    filters.account.choices = account_choices()
    if not filters.state.data:
        filters.state.data = "open"
    filters.validate()
    state = filters.state.data if filters.state.data in {"open", "accepted", "refund"} else ""
    account = filters.account.data
    sort = sort_order(SCHEDULE_CHANGE_SORTS)
    page = schedule_change_list(
        ChangeFilters(state=state, account_id=int(account) if account and account.isdigit() else None),
        page_number(),
        current_app.config["PER_PAGE"],
        sort,
    )
    return render(
        "schedule/schedule_changes.html",
        block="results",
        filters=filters,
        page=page,
        sort=sort,
        sorts=SCHEDULE_CHANGE_SORTS,
    )
