"""Finance: Refunds (tabs, filters, export, batch upload) and the balance statement with adjustments."""

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required

from portal.blueprints.finance.forms import AdjustmentForm, BatchUploadForm, RefundListForm, StatementForm
from portal.clock import utcnow
from portal.domain.batch import MAX_BYTES, FileRefused, template_csv, template_xlsx
from portal.domain.ledger import default_period, period_bounds
from portal.domain.spreadsheet import csv_document, xlsx_document
from portal.forms import account_choices
from portal.htmx import page_number, render, sort_order
from portal.models.accounts import AGENCY_ROLES
from portal.security import admin_required, current_scope, found, roles_required
from portal.services.accounts import get_account
from portal.services.batch import load_batch, process_upload, recent_batches
from portal.services.finance import (
    FINANCE_REFUND_SORTS,
    TABS,
    RefundFilters,
    export_rows,
    list_refunds,
    passenger_names,
    post_adjustment,
    statement,
    statement_rows,
)
from portal.uow import attempt

bp = Blueprint("finance", __name__, url_prefix="/finance")

agent_required = roles_required(*AGENCY_ROLES)


def tab_labels() -> dict[str, str]:
    return {
        "all": "All",
        "operator": f"{current_app.config['OPERATOR_NAME']} Initiated",
        "agent": "Agent & Passenger Initiated",
    }


def _account_arg() -> int | None:
    """The account a finance page is about: an agent's own (naming another is a 404); staff choose."""
    raw = request.args.get("account", "").strip()
    scope = current_scope()
    wanted = int(raw) if raw.isdigit() else None
    if raw and not scope.is_everything and (wanted is None or not scope.admits(wanted)):
        abort(404)
    return scope.narrowed(wanted).account_id


def _filters(tab: str) -> tuple[RefundListForm, RefundFilters]:
    form = RefundListForm(request.args)
    account_id = _account_arg()
    if current_user.is_staff:
        form.account.choices = account_choices(with_names=True)
    form.validate()
    # Invalid fields are shown with their message and left out; the rest still applies.
    filters = RefundFilters(
        tab=tab,
        q=(form.q.data or "").strip() if not form.q.errors else "",
        status=form.status.data or None,
        follow_up=form.follow_up.data or None,
        submitted_from=form.submitted_from.data if not form.submitted_from.errors else None,
        submitted_to=form.submitted_to.data if not form.submitted_to.errors else None,
        account_id=account_id if current_user.is_staff else None,
    )
    return form, filters


def _refunds_page(tab: str, upload_form=None, upload_error=None, status=200):
    if tab not in TABS:
        abort(404)
    form, filters = _filters(tab)
    zone = current_app.config["TIMEZONE"]
    sort = sort_order(FINANCE_REFUND_SORTS)
    page = list_refunds(filters, current_scope(), page_number(), current_app.config["PER_PAGE"], zone, sort)
    batches = recent_batches(current_scope()) if tab == "agent" else []
    # The filter form swaps only the results; tab links swap the whole panel.
    block = "results" if request.headers.get("HX-Target") == "results" else "panel"
    return render(
        "finance/refunds.html",
        block=block,
        tab=tab,
        tabs=tab_labels(),
        form=form,
        filters=filters,
        page=page,
        sort=sort,
        sorts=FINANCE_REFUND_SORTS,
        now=utcnow(),
        zone=zone,
        passenger_names=passenger_names,
        batches=batches,
        upload_form=upload_form or BatchUploadForm(),
        upload_error=upload_error,
        max_mb=MAX_BYTES // (1024 * 1024),
    ), status


@bp.get("/refunds", defaults={"tab": "all"})
@bp.get("/refunds/<tab>")
@login_required
def refunds(tab):
    return _refunds_page(tab)


def _attachment(body, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/refunds/<tab>/export.csv")
@login_required
def export_refunds(tab):
    if tab not in TABS:
        abort(404)
    _, filters = _filters(tab)  # an agent naming another account is refused here, before streaming
    rows = export_rows(
        filters, current_scope(), current_app.config["TIMEZONE"], current_app.config["OPERATOR_NAME"]
    )
    stamp = utcnow().strftime("%Y%m%d")
    return _attachment(stream_with_context(csv_document(rows)), "text/csv", f"refunds-{tab}-{stamp}.csv")


# --- Batch refunds ----------------------------------------------------------------------------------------


@bp.get("/refunds/template.csv")
@login_required
def template_csv_download():
    return _attachment(template_csv(), "text/csv", "refund-template.csv")


@bp.get("/refunds/template.xlsx")
@login_required
def template_xlsx_download():
    return _attachment(
        template_xlsx(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "refund-template.xlsx",
    )


@bp.post("/refunds/batches")
@agent_required
def upload_batch():
    form = BatchUploadForm()
    if not form.validate_on_submit():
        return _refunds_page("agent", form, "The form expired; reload the page and upload again.", 400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _refunds_page("agent", form, "Choose the filled template to upload.", 422)
    try:
        data = upload.stream.read(MAX_BYTES + 1)
    finally:
        upload.close()
    with attempt() as outcome:
        result = process_upload(upload.filename, data, user=current_user)
    if isinstance(outcome.error, FileRefused):
        return _refunds_page("agent", form, f"The file was not processed: {outcome.message}", outcome.status)
    if outcome.failed:
        return _refunds_page("agent", form, outcome.message, outcome.status)
    batch = result.batch
    message = (
        f"Batch {batch.code}: {batch.created_count} refund{'s' if batch.created_count != 1 else ''} created"
    )
    message += f" from {batch.row_count} row{'s' if batch.row_count != 1 else ''}."
    if result.previous is not None:
        message += f" The same file was uploaded before as batch {result.previous.code}."
    flash(message, "success" if batch.created_count else "info")
    return redirect(url_for("finance.batch_details", batch_id=batch.id), code=303)


@bp.get("/refunds/batches/<int:batch_id>")
@login_required
def batch_details(batch_id):
    batch = found(load_batch(batch_id, current_scope()))
    return render("finance/batch.html", batch=batch, counts=batch.outcome_counts, tabs=tab_labels())


@bp.get("/refunds/batches/<int:batch_id>/outcomes.csv")
@login_required
def batch_outcomes(batch_id):
    batch = found(load_batch(batch_id, current_scope()))
    rows = [("Row", "Order number", "Passengers", "Note", "Outcome", "Details", "Refund code")]
    rows += [
        (
            r.line,
            r.order_number,
            r.passengers or "",
            r.note or "",
            r.outcome_label,
            r.message,
            r.refund.code if r.refund else "",
        )
        for r in batch.rows
    ]
    return _attachment("".join(csv_document(rows)), "text/csv", f"batch-{batch.code}-outcomes.csv")


# --- Balance and statement ---------------------------------------------------------------------------------


def _statement_context(adjustment_form=None):
    form = StatementForm(request.args)
    account_id = _account_arg()
    if current_user.is_staff:
        form.account.choices = account_choices("Choose an account", with_names=True)
    account = get_account(account_id)
    if account_id is not None and account is None:
        abort(404)
    form.validate()
    zone = current_app.config["TIMEZONE"]
    start, end = default_period(utcnow(), zone)
    if form.date_from.data and not form.date_from.errors:
        start = form.date_from.data
    if form.date_to.data and not form.date_to.errors:
        end = form.date_to.data
    if end < start:
        end = start
    form.date_from.data, form.date_to.data = start, end
    statements = []
    if account is not None:
        begin, finish = period_bounds(start, end, zone)
        statements = statement(account, begin, finish)
    return {
        "form": form,
        "account": account,
        "start": start,
        "end": end,
        "zone": zone,
        "statements": statements,
        "adjustment_form": adjustment_form or AdjustmentForm(),
    }


@bp.get("/statement")
@login_required
def statement_page():
    return render("finance/statement.html", block="statement", **_statement_context())


def _statement_export(kind: str):
    ctx = _statement_context()
    account = ctx["account"]
    if account is None:
        abort(404)
    rows = list(statement_rows(account, ctx["statements"], ctx["start"], ctx["end"], ctx["zone"]))
    name = f"statement-{account.code}-{ctx['start']:%Y%m%d}-{ctx['end']:%Y%m%d}"
    if kind == "csv":
        return _attachment("".join(csv_document(rows)), "text/csv", f"{name}.csv")
    return _attachment(
        xlsx_document([("Statement", rows)], bold_first_row=False),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"{name}.xlsx",
    )


@bp.get("/statement.csv")
@login_required
def statement_csv():
    return _statement_export("csv")


@bp.get("/statement.xlsx")
@login_required
def statement_xlsx():
    return _statement_export("xlsx")


@bp.post("/statement/adjustments")
@admin_required
def post_adjustment_view():
    form = AdjustmentForm()
    account_id = _account_arg()
    account = get_account(account_id)
    if account is None:
        abort(404)
    error = None
    if form.validate_on_submit():
        with attempt() as outcome:
            entry = post_adjustment(
                account, amount=form.amount.data, reason=form.reason.data, user=current_user
            )
        error = outcome.message
        if not outcome.failed:
            flash(f"Adjustment of {entry.currency} {entry.amount:,.2f} posted to {account.code}.", "success")
            args = {k: v for k, v in request.args.items() if k in ("account", "date_from", "date_to")}
            return redirect(url_for("finance.statement_page", **args), code=303)
    else:
        error = "The form expired; reload the page and post the adjustment again."
    ctx = _statement_context(form)
    ctx["adjustment_error"] = error
    return render("finance/statement.html", **ctx), 422
