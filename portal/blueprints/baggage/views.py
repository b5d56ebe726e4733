"""Add Baggage slide-out on Booking Details, and the operations baggage queue (Confirm / Fail)."""

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from portal.blueprints.baggage.forms import AddBaggageForm, BaggageActionForm, BaggageQueueFilters
from portal.clock import utcnow
from portal.domain.baggage import BaggageAction
from portal.forms import account_choices
from portal.htmx import is_partial, page_number, redirect_after_post, render, sort_order
from portal.links import back_or
from portal.models import Booking
from portal.security import booking_or_404, staff_required
from portal.services.baggage import (
    BAGGAGE_QUEUE_SORTS,
    QueueFilters,
    apply_baggage_action,
    baggage_queue,
    catalogue,
    create_baggage_order,
    get_order,
    passenger_choices,
    segment_choices,
)
from portal.uow import attempt

bp = Blueprint("baggage", __name__)


def _select_choices(placeholder: str, items) -> list[SelectChoice]:
    """A placeholder, then every item; the ones that cannot be chosen are shown disabled with why."""
    out = [SelectChoice("", placeholder)]
    for item in items:
        if item.selectable:
            out.append(SelectChoice(item.ref, item.label))
        else:
            out.append(SelectChoice(item.ref, f"{item.label} — {item.short_reason}", {"disabled": True}))
    return out


# --- Add Baggage ------------------------------------------------------------------------------------


@bp.route("/bookings/<order_number>/baggage", methods=["GET", "POST"])
@login_required
def add_baggage(order_number):
    booking = booking_or_404(order_number)
    now = utcnow()
    form = AddBaggageForm()
    error = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            with attempt() as outcome:
                order = create_baggage_order(
                    booking,
                    passenger_ref=form.passenger.data,
                    segment_ref=form.segment.data,
                    option_id=form.option.data,
                    user=current_user,
                    now=now,
                )
                flash(
                    f"Baggage {order.code} requested: {order.description} for {order.passenger.full_name} "
                    f"on {order.segment.flight_number}. {current_app.config['OPERATOR_NAME']} operations "
                    "will confirm it with the airline.",
                    "success",
                )
                return _done(booking)
            error, status = outcome.message, outcome.status
            booking = booking_or_404(order_number)
        else:
            status = 422
    passengers = passenger_choices(booking)
    segments = segment_choices(booking, now)
    form.passenger.choices = _select_choices("Choose a passenger", passengers)
    form.segment.choices = _select_choices("Choose a flight", segments)
    offered = catalogue(booking)
    return render(
        "baggage/add_baggage.html",
        block="slideout",
        booking=booking,
        form=form,
        offered=offered,
        can_order=booking.is_ticketed
        and any(p.selectable for p in passengers)
        and any(s.selectable for s in segments)
        and any(o.selectable for o in offered),
        soon=booking.urgent_segment(now),
        error=error,
    ), status


def _done(booking: Booking):
    """After ordering: back to Booking Details, where the order shows with the ancillaries."""
    return redirect_after_post(url_for("bookings.booking_details", order_number=booking.order_number))


# --- Operations queue -------------------------------------------------------------------------------


@bp.get("/operations/baggage")
@staff_required
def baggage_queue_page():
    filters = BaggageQueueFilters(request.args)
    filters.account.choices = account_choices()
    if not filters.status.data:
        filters.status.data = "requested"
    filters.validate()
    status = filters.status.data if filters.status.data in {"requested", "confirmed", "failed"} else None
    account = filters.account.data
    sort = sort_order(BAGGAGE_QUEUE_SORTS)
    page = baggage_queue(
        QueueFilters(status=status, account_id=int(account) if account and account.isdigit() else None),
        page_number(),
        current_app.config["PER_PAGE"],
        sort,
    )
    return render(
        "baggage/queue.html",
        block="results",
        filters=filters,
        page=page,
        sort=sort,
        sorts=BAGGAGE_QUEUE_SORTS,
        form=BaggageActionForm(),
    )


@bp.post("/operations/baggage/<int:order_id>/<action>")
@staff_required
def baggage_action(order_id, action):
    order = get_order(order_id)
    if order is None:
        abort(404)
    try:
        action = BaggageAction(action)
    except ValueError:
        abort(404)
    form = BaggageActionForm()
    if form.validate_on_submit():
        with attempt() as outcome:
            apply_baggage_action(order, action, user=current_user, reason=form.reason.data)
        error, status = outcome.message, outcome.status
        order = get_order(order_id)
    else:
        error, status = (
            "; ".join(e for errors in form.errors.values() for e in errors) or "Check the form.",
            422,
        )
    if is_partial():
        return render("baggage/_order_row.html", o=order, form=BaggageActionForm(), error=error), status
    if error:
        flash(f"{order.code}: {error}", "error")
    else:
        flash(f"{order.code}: {order.status_label}.", "success")
    # Back to the queue as it was (filters, sort, page), like the refund queue's actions.
    return redirect(back_or(url_for("baggage.baggage_queue_page")), code=303)
