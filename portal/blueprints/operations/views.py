"""The operations refund queue: every account's refunds, moved along with small in-place forms."""

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import selectinload

from portal.blueprints.operations.forms import RefundActionForm, RefundQueueFilters
from portal.clock import utcnow
from portal.domain.refunds import FINAL_STATUSES, RefundAction, RefundTransitionError
from portal.extensions import db
from portal.forms import account_choices
from portal.htmx import is_partial, page_number, render
from portal.links import back_or
from portal.models import Booking, Refund, RefundEvent
from portal.security import staff_required
from portal.services.bookings import Page
from portal.services.refunds import RefundError, apply_action

bp = Blueprint("operations", __name__, url_prefix="/operations")


def _queue_query(filters: RefundQueueFilters):
    stmt = select(Refund)
    status = filters.status.data
    if status == "open":
        stmt = stmt.where(Refund.status.not_in([s.value for s in FINAL_STATUSES]))
    elif status:
        stmt = stmt.where(Refund.status == status)
    if filters.path.data:
        stmt = stmt.where(Refund.path == filters.path.data)
    if filters.account.data and filters.account.data.isdigit():
        stmt = stmt.where(Refund.account_id == int(filters.account.data))
    if filters.deadline.data == "overdue":
        stmt = stmt.where(Refund.overdue_at.is_not(None), Refund.status == "requested")
    return stmt


def _with_row_data(stmt):
    return stmt.options(
        selectinload(Refund.booking).selectinload(Booking.airline),
        selectinload(Refund.account),
        selectinload(Refund.passengers),
        selectinload(Refund.events).selectinload(RefundEvent.actor),
    )


@bp.get("/refunds")
@staff_required
def refund_queue():
    filters = RefundQueueFilters(request.args)
    filters.account.choices = account_choices()
    if "status" not in request.args:
        filters.status.data = "open"
    filters.validate()
    per_page = current_app.config["PER_PAGE"]
    requested_page = page_number()
    base = _queue_query(filters)
    total = db.session.scalar(select(func.count()).select_from(base.subquery()))
    requested_page = min(requested_page, max(1, -(-total // per_page)))
    rows = db.session.scalars(
        # Overdue refunds still waiting come first, then the oldest.
        _with_row_data(base.order_by(_overdue_first(), Refund.created_at.asc(), Refund.id.asc()))
        .limit(per_page)
        .offset((requested_page - 1) * per_page)
    ).all()
    page = Page(items=list(rows), total=total, page=requested_page, per_page=per_page)
    return render(
        "operations/refund_queue.html",
        block="results",
        filters=filters,
        page=page,
        form=RefundActionForm(),
        now=utcnow(),
    )


def _overdue_first():
    return case((and_(Refund.overdue_at.is_not(None), Refund.status == "requested"), 0), else_=1)


@bp.post("/refunds/<int:refund_id>/<action>")
@staff_required
def refund_action(refund_id, action):
    refund = db.session.scalar(_with_row_data(select(Refund).where(Refund.id == refund_id))) or _not_found()
    try:
        action = RefundAction(action)
    except ValueError:
        return _not_found()
    form = RefundActionForm()
    error = None
    if form.validate_on_submit():
        try:
            apply_action(
                refund,
                action,
                user=current_user,
                reference=form.reference.data,
                amount=form.amount.data,
                refunded_on=form.refunded_on.data,
                reason=form.reason.data,
            )
            db.session.commit()
        except (RefundError, RefundTransitionError) as exc:
            db.session.rollback()
            error = str(exc)
            refund = db.session.scalar(_with_row_data(select(Refund).where(Refund.id == refund_id)))
    else:
        error = "; ".join(e for errors in form.errors.values() for e in errors) or "Check the form."
    if is_partial():
        status = 422 if error else 200
        return render(
            "operations/_refund_row.html", r=refund, form=RefundActionForm(), error=error, now=utcnow()
        ), status
    if error:
        flash(f"{refund.code}: {error}", "error")
    else:
        flash(f"{refund.code}: {refund.status_label}.", "success")
    return redirect(back_or(url_for("operations.refund_queue")), code=303)


def _not_found():
    from flask import abort

    abort(404)
