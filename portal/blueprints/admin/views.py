from flask import Blueprint, Response, current_app, flash, redirect, request, stream_with_context, url_for
from flask_login import current_user

from portal.blueprints.admin.forms import (
    NO_ACCOUNT,
    AccountForm,
    AuditFilterForm,
    EditAccountForm,
    EditUserForm,
    ImportForm,
    TemporaryPasswordForm,
    UserForm,
)
from portal.clock import utcnow
from portal.domain.audit import AUDIT_KIND_LABELS
from portal.domain.booking_import import remaining_bytes
from portal.domain.spreadsheet import csv_document
from portal.forms import ActionForm, account_choices, choices
from portal.htmx import page_number, render
from portal.security import admin_required, found
from portal.services.accounts import all_accounts, all_users, get_account, get_user
from portal.services.audit import AuditFilters, export_rows, search_events
from portal.services.auth import (
    create_account,
    create_user,
    set_account_active,
    set_user_active,
    update_account,
    update_user,
)
from portal.services.bookings import import_bookings
from portal.services.import_jobs import (
    is_interrupted,
    progress_of,
    queue_import,
    recent_imports,
    run_again,
    shown_status_label,
)
from portal.services.mfa import enrolled_user_ids
from portal.services.passwords import links_by_email, send_reset_link, set_temporary_password
from portal.uow import attempt, button

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _account_choices():
    accounts = all_accounts()
    return choices([("", NO_ACCOUNT)] + [(a.code, f"{a.code} — {a.name}") for a in accounts])


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    form = UserForm()
    form.account.choices = _account_choices()
    if form.validate_on_submit():
        with attempt() as outcome:
            user = create_user(
                form.email.data,
                form.name.data,
                form.role.data,
                form.password.data,
                form.account.data or None,
                by=current_user,
                temporary=True,  # typed by an admin: the user chooses their own at first login
            )
        if outcome.failed:
            outcome.to_form(form) or form.email.errors.append(outcome.message)
        else:
            flash(f"User {user.email} created. They choose their own password at first login.", "success")
            return redirect(url_for("admin.users"), code=303)
    rows = all_users()
    status = 422 if form.errors else 200
    return render(
        "admin/users.html", form=form, users=rows, action=ActionForm(), two_step_users=enrolled_user_ids()
    ), status


@bp.post("/users/<int:user_id>/<any(disable, enable):change>")
@admin_required
def set_user_status(user_id, change):
    user = found(get_user(user_id))
    return button(
        lambda: set_user_active(user, change == "enable", by=current_user),
        lambda: f"User {user.email} {'enabled' if user.active else 'disabled'}.",
        url_for("admin.users"),
    )


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _user_page(user, form=None, password_form=None, status=200):
    if form is None:
        form = EditUserForm(
            formdata=None,
            name=user.name,
            role=user.role,
            account=user.account.code if user.account else "",
            active=user.active,
        )
    form.account.choices = _account_choices()
    return render(
        "admin/user.html",
        user=user,
        form=form,
        password_form=password_form or TemporaryPasswordForm(formdata=None),
        action=ActionForm(),
        mail=links_by_email(),
    ), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id):
    user = found(get_user(user_id))
    if request.method == "GET":
        return _user_page(user)
    form = EditUserForm()
    form.account.choices = _account_choices()
    if form.validate_on_submit():
        with attempt() as outcome:
            update_user(
                user,
                name=form.name.data,
                role=form.role.data,
                account_code=form.account.data or None,
                active=form.active.data,
                by=current_user,
            )
        if not outcome.failed:
            flash(f"User {user.email} saved.", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id), code=303)
        outcome.to_form(form) or form.name.errors.append(outcome.message)
        return _user_page(user, form=form, status=outcome.status)
    return _user_page(user, form=form, status=422)


@bp.post("/users/<int:user_id>/password")
@admin_required
def set_user_password(user_id):
    user = found(get_user(user_id))
    form = TemporaryPasswordForm()
    if form.validate_on_submit():
        with attempt() as outcome:
            set_temporary_password(user, form.password.data, by=current_user, ip=_client_ip())
        if not outcome.failed:
            flash(
                f"Temporary password set for {user.email}: their sessions have ended, and they choose their "
                "own password when they next log in.",
                "success",
            )
            return redirect(url_for("admin.edit_user", user_id=user.id), code=303)
        outcome.to_form(form) or form.password.errors.append(outcome.message)
        return _user_page(user, password_form=form, status=outcome.status)
    return _user_page(user, password_form=form, status=422)


@bp.post("/users/<int:user_id>/reset-link")
@admin_required
def send_user_reset_link(user_id):
    user = found(get_user(user_id))
    if ActionForm().validate_on_submit():
        with attempt() as outcome:
            send_reset_link(user, by=current_user, ip=_client_ip())
        if outcome.failed:
            flash(outcome.message, "error")
        else:
            flash(f"A reset link was sent to {user.email}; it works once, for one hour.", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id), code=303)


@bp.route("/accounts", methods=["GET", "POST"])
@admin_required
def accounts():
    form = AccountForm()
    if form.validate_on_submit():
        with attempt() as outcome:
            account = create_account(
                form.code.data, form.name.data, form.currency.data, form.service_fee.data, by=current_user
            )
        if outcome.failed:
            outcome.to_form(form) or form.code.errors.append(outcome.message)
        else:
            flash(f"Account {account.code} created.", "success")
            return redirect(url_for("admin.accounts"), code=303)
    rows = all_accounts()
    status = 422 if form.errors else 200
    return render("admin/accounts.html", form=form, accounts=rows, action=ActionForm()), status


@bp.post("/accounts/<int:account_id>/<any(disable, enable):change>")
@admin_required
def set_account_status(account_id, change):
    account = found(get_account(account_id))
    if ActionForm().validate_on_submit():
        set_account_active(account, change == "enable", by=current_user)
        flash(f"Account {account.code} {'enabled' if account.active else 'disabled'}.", "success")
    return redirect(url_for("admin.accounts"), code=303)


@bp.route("/accounts/<int:account_id>", methods=["GET", "POST"])
@admin_required
def edit_account(account_id):
    account = found(get_account(account_id))
    if request.method == "GET":
        form = EditAccountForm(
            formdata=None,
            name=account.name,
            service_fee=str(account.service_fee_money.amount),
            statement_emails="\n".join(account.statement_addresses),
            statement_schedule=account.statement_schedule,
            notice_emails="\n".join(account.notice_addresses),
        )
        return render("admin/account.html", account=account, form=form)
    form = EditAccountForm()
    status = 422
    if form.validate_on_submit():
        with attempt() as outcome:
            changes = update_account(
                account,
                name=form.name.data,
                service_fee=form.service_fee.data,
                statement_emails=form.statement_emails.data,
                statement_schedule=form.statement_schedule.data,
                notice_emails=form.notice_emails.data,
                by=current_user,
            )
        if not outcome.failed:
            flash(f"Account {account.code} saved." if changes else "Nothing to change.", "success")
            return redirect(url_for("admin.edit_account", account_id=account.id), code=303)
        outcome.to_form(form) or form.name.errors.append(outcome.message)
        status = outcome.status
    return render("admin/account.html", account=account, form=form), status


@bp.url_value_preprocessor
def _large_imports(endpoint, values):
    # Runs before the app's CSRF check reads the form: Import takes files far over the app's upload limit.
    if endpoint == "admin.import_file":
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_file():
    """Small files are imported while the page waits; from IMPORT_IN_BACKGROUND_BYTES on, the file is
    handed to the job runner and the page shows the import's progress (it asks again every few seconds)."""
    form = ImportForm()
    errors: list[str] = []
    result = None
    if form.validate_on_submit():
        upload = form.file.data
        size = remaining_bytes(upload.stream)
        if size == 0:
            errors = ["file: is empty"]
        elif size >= current_app.config["IMPORT_IN_BACKGROUND_BYTES"]:
            with attempt() as outcome:
                queue_import(upload.stream, upload.filename, by=current_user)
            if not outcome.failed:
                flash("The file is being imported in the background; its progress shows below.", "success")
                return redirect(url_for("admin.import_file"), code=303)
            errors = [outcome.message]
        else:
            with attempt() as outcome:
                result = import_bookings(upload.stream.read())
            if outcome.failed:
                errors = outcome.error.errors
    status = 422 if (errors or form.errors) else 200
    imports = recent_imports()
    now = utcnow()
    interrupted = {job.id for job in imports if is_interrupted(job, now)}
    progress = {job.id: progress_of(job) for job in imports if job.is_running and job.id not in interrupted}
    page = render(
        "admin/import.html",
        block="imports",
        form=form,
        errors=errors,
        result=result,
        imports=imports,
        progress=progress,
        interrupted=interrupted,
        labels={job.id: shown_status_label(job, now) for job in imports},
        action=ActionForm(),
        polling=any(job.is_active and job.id not in interrupted for job in imports),
    )
    return page, status


@bp.post("/import/<int:job_id>/run-again")
@admin_required
def run_import_again(job_id):
    """An import whose runner was stopped mid-import, queued again from its kept file."""
    return button(
        lambda: run_again(job_id),
        lambda: "The import is queued again; its progress shows below.",
        url_for("admin.import_file"),
    )


# --- Audit trail --------------------------------------------------------------------------------


def _audit_filters() -> tuple[AuditFilterForm, AuditFilters]:
    form = AuditFilterForm(request.args)
    form.kind.choices = choices(
        [("", "Any event"), *((k.value, label) for k, label in AUDIT_KIND_LABELS.items())]
    )
    form.account.choices = account_choices(with_names=True)
    form.validate()
    account = form.account.data
    filters = AuditFilters(
        kind=form.kind.data or None,
        email=(form.email.data or "").strip() if not form.email.errors else "",
        account_id=int(account) if account and account.isdigit() else None,
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
    )
    return form, filters


@bp.get("/audit")
@admin_required
def audit_trail():
    form, filters = _audit_filters()
    zone = current_app.config["TIMEZONE"]
    page = search_events(filters, page_number(), current_app.config["PER_PAGE"], zone)
    return render("admin/audit.html", block="results", form=form, page=page)


@bp.get("/audit.csv")
@admin_required
def audit_trail_csv():
    _, filters = _audit_filters()
    rows = export_rows(filters, current_app.config["TIMEZONE"])
    response = Response(stream_with_context(csv_document(rows)), mimetype="text/csv")
    stamp = utcnow().strftime("%Y%m%d")
    response.headers["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
