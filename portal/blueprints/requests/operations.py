"""The operations request queue: every account's requests; take, change status, reply and quote."""

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from portal.blueprints.requests.forms import QuoteForm
from portal.blueprints.requests.views import (
    _detail_context,
    _request,
    filter_form,
    filters_from,
)
from portal.domain.requests import STATUS_ACTION_LABELS, RequestAction
from portal.forms import ActionForm
from portal.htmx import is_partial, page_number, render, sort_order
from portal.links import back_or
from portal.security import staff_required
from portal.services.requests import (
    REQUEST_QUEUE_SORTS,
    change_status,
    post_quote,
    quoted_passengers,
    search_requests,
    take,
)
from portal.services.scope import Scope
from portal.uow import attempt

EXPIRED = "The form expired; reload the page."

bp = Blueprint("request_ops", __name__, url_prefix="/operations/requests")


@bp.get("/")
@staff_required
def request_queue():
    form = filter_form(staff=True)
    if "status" not in request.args:
        form.status.data = "open"
    filters = filters_from(form, staff=True)
    sort = sort_order(REQUEST_QUEUE_SORTS)
    page = search_requests(
        filters,
        Scope.everything(),
        page_number(),
        current_app.config["PER_PAGE"],
        oldest_first=True,
        sort=sort,
    )
    return render(
        "requests/queue.html",
        block="results",
        form=form,
        filters=filters,
        page=page,
        action=ActionForm(),
        sort=sort,
        sorts=REQUEST_QUEUE_SORTS,
    )


def _after_row_action(number: str, error: str | None, done: str, status: int):
    """The queue row again for htmx (in place); otherwise a flash and back where the user was."""
    if is_partial():
        req = _request(number)
        return render("requests/_queue_row.html", r=req, action=ActionForm(), error=error), status
    flash(f"{number}: {error}" if error else done, "error" if error else "success")
    return redirect(back_or(url_for("request_ops.request_queue")), code=303)


@bp.post("/<number>/take")
@staff_required
def take_request(number):
    req = _request(number)
    if not ActionForm().validate_on_submit():
        return _after_row_action(number, EXPIRED, "", 422)
    with attempt() as outcome:
        take(req, user=current_user)
    return _after_row_action(number, outcome.message, f"{number} is yours.", outcome.status)


@bp.post("/<number>/status/<action>")
@staff_required
def change_request_status(number, action):
    req = _request(number)
    try:
        action = RequestAction(action)
    except ValueError:
        action = None
    if action not in STATUS_ACTION_LABELS:
        abort(404)
    if not ActionForm().validate_on_submit():
        return _after_row_action(number, EXPIRED, "", 422)
    with attempt() as outcome:
        change_status(req, action, user=current_user)
    return _after_row_action(number, outcome.message, f"{number}: {req.status_label}.", outcome.status)


@bp.post("/<number>/quote")
@staff_required
def post_request_quote(number):
    req = _request(number)
    form = QuoteForm()
    amounts = {p.ref: request.form.get(f"amount-{p.ref}", "") for p in quoted_passengers(req)}
    error = None
    field_errors: dict[str, str] = {}
    status = 422
    if form.validate_on_submit():
        with attempt() as outcome:
            quote = post_quote(
                req,
                user=current_user,
                amounts=amounts,
                valid_until=form.valid_until.data,
                note=form.note.data,
            )
        error, status = outcome.message, outcome.status
        if not outcome.failed:
            flash(
                f"Quote posted: {quote.total}. The agency can accept or decline it.",
                "success",
            )
            return redirect(url_for("requests.request_detail", number=req.number), code=303)
        # Under the passenger's amount, or under the form field, that the refusal names.
        named = getattr(outcome.error, "field", None) or ""
        if named.startswith("amount-"):
            field_errors[named.removeprefix("amount-")] = error
            error = None
        elif outcome.to_form(form):
            error = None
    else:
        error = "; ".join(e for errors in form.errors.values() for e in errors) or "Check the quote."
    req = _request(number)
    context = _detail_context(
        req, quote_form=form, quote_amounts=amounts, quote_error=error, quote_field_errors=field_errors
    )
    return render("requests/request.html", **context), status
