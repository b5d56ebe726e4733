from flask import Blueprint, current_app, request
from flask_login import current_user, login_required

from portal.blueprints.bookings.forms import BookingSearchForm
from portal.clock import utcnow
from portal.forms import account_choices
from portal.htmx import is_partial, page_number, render, sort_order
from portal.security import booking_or_404, current_scope
from portal.services.bookings import (
    BOOKING_SORTS,
    BookingFilters,
    action_required_count,
    search_bookings,
)
from portal.services.coupons import refund_cancelled_segments
from portal.services.history import booking_history
from portal.services.refunds import booking_refunds

bp = Blueprint("bookings", __name__, url_prefix="/bookings")

TABS = {
    "details": "Details",
    "refund_info": "Refund Info",
    "request_history": "Request History",
}


@bp.get("/")
@login_required
def my_bookings():
    form = BookingSearchForm(request.args)
    if current_user.is_staff:
        form.account.choices = account_choices(with_names=True)
    valid = form.validate()
    # Invalid fields are shown with their message and left out of the search; the rest still applies.
    account_filter = form.account.data if current_user.is_staff and form.account.data else None
    filters = BookingFilters(
        q=(form.q.data or "").strip() if not form.q.errors else "",
        departure_from=form.departure_from.data if not form.departure_from.errors else None,
        departure_to=form.departure_to.data if not form.departure_to.errors else None,
        payment_channel=form.payment_channel.data or None,
        status=form.status.data or None,
        account_id=int(account_filter) if account_filter and account_filter.isdigit() else None,
    )
    scope = current_scope()
    sort = sort_order(BOOKING_SORTS)
    page = search_bookings(filters, scope, page_number(), current_app.config["PER_PAGE"], sort)
    return render(
        "bookings/my_bookings.html",
        block="results",
        form=form,
        valid=valid,
        page=page,
        sort=sort,
        sorts=BOOKING_SORTS,
        filters=filters,
        # The badge sits above the results: a partial (a keystroke in the search) does not show it.
        action_required=None if is_partial() else action_required_count(scope),
        now=utcnow(),
    )


def _booking_page(order_number: str, tab: str):
    booking = booking_or_404(order_number)
    refunds = booking_refunds(booking) if tab == "refund_info" else []
    service_requests, history = booking_history(booking) if tab == "request_history" else ([], [])
    return render(
        "bookings/booking.html",
        block="tabs",
        booking=booking,
        tab=tab,
        tabs=TABS,
        refunds=refunds,
        service_requests=service_requests,
        history=history,
        refund_cancelled=refund_cancelled_segments(booking) if tab == "details" else frozenset(),
        now=utcnow(),
    )


@bp.get("/<order_number>")
@login_required
def booking_details(order_number):
    return _booking_page(order_number, "details")


@bp.get("/<order_number>/refund-info")
@login_required
def refund_info(order_number):
    return _booking_page(order_number, "refund_info")


@bp.get("/<order_number>/request-history")
@login_required
def request_history(order_number):
    return _booking_page(order_number, "request_history")
