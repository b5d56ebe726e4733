from flask import Blueprint, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.blueprints.admin.forms import NO_ACCOUNT, AccountForm, ImportForm, UserForm
from portal.blueprints.auth.forms import ActionForm
from portal.domain.booking_import import ImportRejected
from portal.extensions import db
from portal.forms import choices
from portal.htmx import render
from portal.models import Account, User
from portal.security import admin_required
from portal.services.auth import AuthError, create_account, create_user, set_account_active, set_user_active
from portal.services.bookings import import_bookings

bp = Blueprint("admin", __name__, url_prefix="/admin")

MAX_IMPORT_BYTES = 10 * 1024 * 1024


def _account_choices():
    accounts = db.session.execute(select(Account.code, Account.name).order_by(Account.code)).all()
    return choices([("", NO_ACCOUNT)] + [(a.code, f"{a.code} — {a.name}") for a in accounts])


@bp.route("/users", methods=["GET", "POST"])
@admin_required
def users():
    form = UserForm()
    form.account.choices = _account_choices()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.email.data, form.name.data, form.role.data, form.password.data, form.account.data or None
            )
        except AuthError as exc:
            db.session.rollback()
            form.email.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"User {user.email} created.", "success")
            return redirect(url_for("admin.users"), code=303)
    rows = db.session.scalars(
        select(User).options(selectinload(User.account)).order_by(User.role, User.email)
    ).all()
    status = 422 if form.errors else 200
    return render("admin/users.html", form=form, users=rows, action=ActionForm()), status


@bp.post("/users/<int:user_id>/<any(disable, enable):change>")
@admin_required
def set_user_status(user_id, change):
    user = db.get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        try:
            set_user_active(user, change == "enable", by=current_user)
        except AuthError as exc:
            flash(str(exc), "error")
        else:
            db.session.commit()
            flash(f"User {user.email} {'enabled' if user.active else 'disabled'}.", "success")
    return redirect(url_for("admin.users"), code=303)


@bp.route("/accounts", methods=["GET", "POST"])
@admin_required
def accounts():
    form = AccountForm()
    if form.validate_on_submit():
        try:
            account = create_account(
                form.code.data, form.name.data, form.currency.data, form.service_fee.data
            )
        except AuthError as exc:
            db.session.rollback()
            form.code.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Account {account.code} created.", "success")
            return redirect(url_for("admin.accounts"), code=303)
    rows = db.session.scalars(select(Account).order_by(Account.code)).all()
    status = 422 if form.errors else 200
    return render("admin/accounts.html", form=form, accounts=rows, action=ActionForm()), status


@bp.post("/accounts/<int:account_id>/<any(disable, enable):change>")
@admin_required
def set_account_status(account_id, change):
    account = db.get_or_404(Account, account_id)
    if ActionForm().validate_on_submit():
        set_account_active(account, change == "enable")
        db.session.commit()
        flash(f"Account {account.code} {'enabled' if account.active else 'disabled'}.", "success")
    return redirect(url_for("admin.accounts"), code=303)


@bp.route("/import", methods=["GET", "POST"])
@admin_required
def import_file():
    form = ImportForm()
    errors: list[str] = []
    result = None
    if form.validate_on_submit():
        raw = form.file.data.read(MAX_IMPORT_BYTES + 1)
        if len(raw) > MAX_IMPORT_BYTES:
            errors = ["file: larger than 10 MB; split it into several files"]
        elif not raw:
            errors = ["file: is empty"]
        else:
            try:
                result = import_bookings(raw)
            except ImportRejected as exc:
                db.session.rollback()
                errors = exc.errors
            else:
                db.session.commit()
    status = 422 if (errors or form.errors) else 200
    return render("admin/import.html", form=form, errors=errors, result=result), status
