"""Raise a Request (slide-out), My Requests, New Request, a request's page and thread, the agency's
answers (reply, cancel, accept or decline a quote)."""

from functools import partial

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required

from portal.blueprints.requests.forms import (
    MessageForm,
    NewRequestForm,
    QuoteForm,
    RequestFilterForm,
    RequestForm,
)
from portal.clock import utcnow
from portal.domain.requests import (
    STATUS_ACTION_LABELS,
    OpenRequestExists,
    status_actions,
    submit_refusal,
)
from portal.forms import ActionForm, account_choices, choices
from portal.htmx import is_partial, page_number, redirect_after_post, render, sort_order
from portal.models import Booking, ServiceRequest
from portal.security import booking_or_404, current_scope, found
from portal.services.bookings import load_booking
from portal.services.catalogues import category_tree, offered_category
from portal.services.documents import UploadRejected
from portal.services.requests import (
    REQUEST_SORTS,
    RequestFilters,
    accept_quote,
    change_status,
    create_request,
    decline_quote,
    load_request,
    post_message,
    quote_form_lines,
    search_requests,
    thread,
)
from portal.uow import attempt

bp = Blueprint("requests", __name__)
bp.add_app_template_global(STATUS_ACTION_LABELS, "status_action_labels")
bp.add_app_template_global(status_actions, "status_actions_for")

UNKNOWN_ORDER = "No booking with this order number in your account. Check the number and try again."


def _find_booking(order_number: str | None) -> Booking | None:
    """The booking with this order number in the user's scope; None for unknown and other accounts'."""
    return load_booking(order_number, current_scope())


def _request(number: str) -> ServiceRequest:
    return found(load_request(number, current_scope()))


def category_choices():
    pairs = [("", "Choose a category", None)]
    for group, categories in category_tree(active_only=True):
        pairs += [(str(c.id), c.label, group.label) for c in categories]
    return [c for value, label, group in pairs for c in choices([(value, label)], optgroup=group)]


def _hint(booking: Booking | None, category_id) -> tuple[str | None, str | None]:
    """(what the category does, why it is refused for this booking) for the form."""
    category = offered_category(category_id)
    if category is None:
        return None, None
    refusal = submit_refusal(category.behaviour, booking.payment_channel) if booking else None
    return category.rule.hint, refusal


def _chosen(booking: Booking | None) -> list[str]:
    if request.method == "POST" or "passengers_shown" in request.values:
        return request.values.getlist("passenger")
    return [p.ref for p in booking.passengers] if booking else []


def _submit(form, booking: Booking):
    """Create the request from a validated form; returns (response, error, open_number)."""
    with attempt() as outcome:
        req = create_request(
            booking,
            offered_category(form.category.data),
            user=current_user,
            description=form.description.data,
            passenger_refs=request.form.getlist("passenger"),
            files=request.files.getlist(form.attachments.name),
        )
    if isinstance(outcome.error, OpenRequestExists):
        return None, outcome.message, outcome.error.number
    if isinstance(outcome.error, UploadRejected):
        form.attachments.errors = [*form.attachments.errors, outcome.message]
        return None, None, None
    if outcome.to_form(form):
        return None, None, None
    if outcome.failed:
        return None, outcome.message, None
    flash(f"Request {req.number} submitted. Operations will answer here.", "success")
    return redirect_after_post(url_for("requests.request_detail", number=req.number)), None, None


# --- Raise a Request (Booking Details slide-out) ------------------------------------------------


@bp.route("/bookings/<order_number>/raise-request", methods=["GET", "POST"])
@login_required
def raise_request(order_number):
    booking = booking_or_404(order_number)
    form = RequestForm()
    form.category.choices = category_choices()
    if request.method == "GET" and request.args.get("category"):
        form.category.data = request.args["category"]
    error = open_number = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            response, error, open_number = _submit(form, booking)
            if response is not None:
                return response
            booking = booking_or_404(order_number)
        status = 422
    hint, refusal = _hint(booking, form.category.data)
    return render(
        "requests/raise_request.html",
        block="slideout",
        booking=booking,
        form=form,
        chosen=set(_chosen(booking)),
        hint=hint,
        refusal=refusal,
        error=error,
        open_number=open_number,
        soon=booking.urgent_segment(utcnow()),
    ), status


# --- My Requests, New Request ---------------------------------------------------------------------


def filter_form(staff: bool) -> RequestFilterForm:
    form = RequestFilterForm(request.args)
    form.category.choices = choices([("", "Any")]) + [
        c
        for group, categories in category_tree(active_only=False)
        for c in choices([(str(x.id), x.label) for x in categories], optgroup=group.label)
    ]
    if staff:
        form.account.choices = account_choices()
    return form


def filters_from(form: RequestFilterForm, staff: bool) -> RequestFilters:
    form.validate()
    account = form.account.data if staff else None
    return RequestFilters(
        q=(form.q.data or "").strip() if not form.q.errors else "",
        status=form.status.data or "",
        category_id=int(form.category.data) if (form.category.data or "").isdigit() else None,
        account_id=int(account) if account and account.isdigit() else None,
        assigned_to_id=current_user.id if staff and form.assigned.data == "me" else None,
    )


@bp.get("/requests/")
@login_required
def my_requests():
    staff = current_user.is_staff
    form = filter_form(staff)
    filters = filters_from(form, staff)
    scope = current_scope()
    sort = sort_order(REQUEST_SORTS)
    page = search_requests(filters, scope, page_number(), current_app.config["PER_PAGE"], sort=sort)
    return render(
        "requests/my_requests.html",
        block="results",
        form=form,
        filters=filters,
        page=page,
        sort=sort,
        sorts=REQUEST_SORTS,
    )


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def new_request():
    form = NewRequestForm()
    form.category.choices = category_choices()
    if request.method == "GET":
        form.order_number.data = request.args.get("order_number", form.order_number.data)
        form.category.data = request.args.get("category", form.category.data)
    booking = _find_booking(form.order_number.data)
    error = open_number = None
    status = 200
    if request.method == "POST":
        valid = form.validate_on_submit()
        if form.order_number.data and booking is None:
            form.order_number.errors = [*form.order_number.errors, UNKNOWN_ORDER]
            valid = False
        if valid:
            response, error, open_number = _submit(form, booking)
            if response is not None:
                return response
            booking = _find_booking(form.order_number.data)
        status = 422
    hint, refusal = _hint(booking, form.category.data)
    return render(
        "requests/new_request.html",
        form=form,
        booking=booking,
        chosen=set(_chosen(booking)),
        hint=hint,
        refusal=refusal,
        error=error,
        open_number=open_number,
        order_message=_order_message(form.order_number.data, booking) if request.method == "GET" else None,
    ), status


def _order_message(order_number: str | None, booking: Booking | None) -> tuple[str, str] | None:
    if not (order_number or "").strip():
        return None
    if booking is None:
        return "error", UNKNOWN_ORDER
    return "ok", f"Booking found: PNR {booking.pnr} · {booking.airline.name} · {booking.route}"


@bp.get("/requests/validate-order")
@login_required
def validate_order():
    """The Order number field's message as the agent types (and the passengers of that booking).

    An unknown order and another account's order get the same answer.
    """
    raw = request.args.get("order_number", "")
    if not is_partial():
        # Without JavaScript the check happens on the form itself.
        return redirect(url_for("requests.new_request", order_number=raw), code=303)
    booking = _find_booking(raw)
    message = _order_message(raw, booking) or ("error", "Enter the order number.")
    hint, refusal = _hint(booking, request.args.get("category"))
    return render(
        "requests/new_request.html",
        block="order_feedback",
        booking=booking,
        order_message=message,
        chosen=set(_chosen(booking)),
        hint=hint,
        refusal=refusal,
        oob_hint=True,
    )


@bp.get("/requests/category-hint")
@login_required
def category_hint():
    """What the chosen category does, and, for the booking named, whether it is refused (VCC)."""
    booking = _find_booking(request.args.get("order_number"))
    hint, refusal = _hint(booking, request.args.get("category"))
    form = RequestForm(formdata=None)
    form.category.choices = category_choices()
    form.category.data = request.args.get("category", "")
    return render("requests/_category_changed.html", hint=hint, refusal=refusal, form=form)


# --- A request ------------------------------------------------------------------------------------


def _detail_context(req: ServiceRequest, **extra) -> dict:
    staff = current_user.is_staff
    now = utcnow()
    open_quote = req.open_quote
    context = dict(
        req=req,
        booking=req.booking,
        entries=thread(req, staff=staff),
        message_form=MessageForm(formdata=None),
        quote_form=QuoteForm(formdata=None),
        action=ActionForm(),
        open_quote=open_quote,
        quote_expired=open_quote is not None and open_quote.is_expired(now),
        # Called by the page's quote form only (staff, open Cancel & Refund), not by the polled thread.
        quote_lines=partial(quote_form_lines, req, now),
        status_actions=status_actions(req.status) if staff else (),
        linked_refunds=list(req.refunds),
        quote_amounts={},
        quote_field_errors={},
        error=None,
    )
    context.update(extra)
    return context


@bp.get("/requests/<number>")
@login_required
def request_detail(number):
    req = _request(number)
    return render("requests/request.html", block="conversation", **_detail_context(req))


@bp.get("/requests/<number>/thread")
@login_required
def request_thread(number):
    """Only the thread: polled every few seconds so new messages appear without a reload."""
    req = _request(number)
    return render("requests/request.html", block="thread", **_detail_context(req))


@bp.post("/requests/<number>/messages")
@login_required
def post_request_message(number):
    req = _request(number)
    form = MessageForm()
    error = None
    if form.validate_on_submit():
        with attempt() as outcome:
            post_message(
                req,
                user=current_user,
                body=form.body.data,
                internal=form.internal.data,
                files=request.files.getlist(form.attachments.name),
            )
        if isinstance(outcome.error, UploadRejected):
            form.attachments.errors = [*form.attachments.errors, outcome.message]
        elif outcome.failed:
            error = outcome.message
        else:
            if not is_partial():
                flash(
                    "Internal note added."
                    if form.internal.data and current_user.is_staff
                    else "Message sent."
                )
                return redirect(url_for("requests.request_detail", number=req.number) + "#thread", code=303)
            req = _request(number)
            return render(
                "requests/request.html", block="conversation", oob_summary=True, **_detail_context(req)
            )
    req = _request(number)
    return render(
        "requests/request.html", block="conversation", **_detail_context(req, message_form=form, error=error)
    ), 422


def _answer(number: str, change):
    """Run an agency action on the request: done, it redirects (303); refused, the request page shows
    why, with the refusal's status (409 for a state that does not allow it, 422 for bad input)."""
    req = _request(number)
    if current_user.is_staff:
        abort(403)
    if not ActionForm().validate_on_submit():
        abort(400)
    with attempt() as outcome:
        return change(req)
    flash(outcome.message, "error")
    req = _request(number)
    return render("requests/request.html", **_detail_context(req)), outcome.status


@bp.post("/requests/<number>/cancel")
@login_required
def cancel_request(number):
    def cancel(req):
        change_status(req, "cancel", user=current_user)
        flash(f"Request {req.number} cancelled.", "success")
        return redirect(url_for("requests.request_detail", number=req.number), code=303)

    return _answer(number, cancel)


def _quote_of(req: ServiceRequest, quote_id: int):
    return found(req.quote_by_id(quote_id))


@bp.post("/requests/<number>/quotes/<int:quote_id>/accept")
@login_required
def accept_request_quote(number, quote_id):
    def accept(req):
        refund = accept_quote(req, _quote_of(req, quote_id), user=current_user)
        flash(
            f"Quote accepted. Refund {refund.code} requested from request {req.number}; follow it here.",
            "success",
        )
        return redirect(url_for("bookings.refund_info", order_number=req.booking.order_number), code=303)

    return _answer(number, accept)


@bp.post("/requests/<number>/quotes/<int:quote_id>/decline")
@login_required
def decline_request_quote(number, quote_id):
    def decline(req):
        decline_quote(req, _quote_of(req, quote_id), user=current_user)
        flash("Quote declined. Operations will follow up in the request.", "success")
        return redirect(url_for("requests.request_detail", number=req.number), code=303)

    return _answer(number, decline)
