"""The operations refund queue: every account's refunds, moved along with small in-place forms."""

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from portal.blueprints.operations.forms import RefundActionForm, RefundQueueFilters
from portal.clock import utcnow
from portal.domain.refunds import RefundAction
from portal.forms import account_choices
from portal.htmx import is_partial, page_number, render, sort_order
from portal.links import back_or
from portal.security import found, staff_required
from portal.services.refunds import (
    REFUND_QUEUE_SORTS,
    QueueFilters,
    apply_action,
    queue_refund,
    queue_row,
    queued_refunds,
)
from portal.uow import attempt

bp = Blueprint("operations", __name__, url_prefix="/operations")


@bp.get("/refunds")
@staff_required
def refund_queue():
    form = RefundQueueFilters(request.args)
    form.account.choices = account_choices()
    if "status" not in request.args:
        form.status.data = "open"
    form.validate()
    account = form.account.data
    filters = QueueFilters(
        status=form.status.data or "",
        path=form.path.data or None,
        account_id=int(account) if account and account.isdigit() else None,
        overdue_only=form.deadline.data == "overdue",
    )
    sort = sort_order(REFUND_QUEUE_SORTS)
    page = queued_refunds(filters, page_number(), current_app.config["PER_PAGE"], sort)
    return render(
        "operations/refund_queue.html",
        block="results",
        sort=sort,
        sorts=REFUND_QUEUE_SORTS,
        filters=form,
        page=page,
        now=utcnow(),
    )


@bp.post("/refunds/<int:refund_id>/<action>")
@staff_required
def refund_action(refund_id, action):
    refund = found(queue_refund(refund_id))
    try:
        action = RefundAction(action)
    except ValueError:
        abort(404)
    form = RefundActionForm()
    status = 200
    if form.validate_on_submit():
        with attempt() as outcome:
            apply_action(
                refund,
                action,
                user=current_user,
                reference=form.reference.data,
                amount=form.amount.data,
                refunded_on=form.refunded_on.data,
                reason=form.reason.data,
            )
        error, status = outcome.message, outcome.status
    else:
        error = "; ".join(e for errors in form.errors.values() for e in errors) or "Check the form."
        status = 422
    # The row as it stands now (as it was, when the attempt was rolled back), read as the queue reads it.
    row = found(queue_row(refund_id))
    if is_partial():
        return render("operations/_refund_rows.html", rows=[row], error=error, now=utcnow()), status
    if error:
        flash(f"{row.code}: {error}", "error")
    else:
        flash(f"{row.code}: {row.status_label}.", "success")
    return redirect(back_or(url_for("operations.refund_queue")), code=303)
