"""The agency admin's pages: the users of its own account (invite, disable, enable, reset)."""

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user

from portal.blueprints.agency.forms import InviteForm, TemporaryPasswordForm
from portal.forms import ActionForm, StatementDeliveryForm
from portal.htmx import render
from portal.security import found, roles_required
from portal.services.agency import (
    account_users,
    invite_user,
    load_account_user,
    send_account_user_link,
    set_account_user_active,
    set_account_user_password,
)
from portal.services.notifications import email_enabled
from portal.services.passwords import links_by_email
from portal.services.statement_mail import recent_mailings, set_delivery
from portal.uow import attempt, button

bp = Blueprint("agency", __name__, url_prefix="/agency")

agency_admin_required = roles_required("agency_admin")


def _page(form=None, password_form=None, status=200):
    return render(
        "agency/users.html",
        users=account_users(current_user),
        form=form or InviteForm(formdata=None),
        password_form=password_form or TemporaryPasswordForm(formdata=None),
        action=ActionForm(),
        mail=links_by_email(),
    ), status


def _user(user_id: int):
    return found(load_account_user(user_id, current_user))  # another agency's user is a 404


@bp.route("/users", methods=["GET", "POST"])
@agency_admin_required
def users():
    form = InviteForm()
    if request.method == "POST":
        if form.validate_on_submit():
            with attempt() as outcome:
                user = invite_user(
                    email=form.email.data,
                    name=form.name.data,
                    role=form.role.data,
                    temporary_password=form.temporary_password.data or None,
                    by=current_user,
                    ip=request.remote_addr,
                )
            if not outcome.failed:
                how = (
                    "They choose their own password at first login."
                    if user.must_change_password
                    else "They got an e-mail with a link to choose their password."
                )
                flash(f"{user.email} invited. {how}", "success")
                return redirect(url_for("agency.users"), code=303)
            outcome.to_form(form) or form.email.errors.append(outcome.message)
            return _page(form=form, status=outcome.status)
        return _page(form=form, status=422)
    return _page()


@bp.post("/users/<int:user_id>/<any(disable, enable):change>")
@agency_admin_required
def set_user_status(user_id, change):
    user = _user(user_id)
    return button(
        lambda: set_account_user_active(user, change == "enable", by=current_user),
        lambda: f"{user.email} {'enabled' if user.active else 'disabled'}.",
        url_for("agency.users"),
    )


@bp.post("/users/<int:user_id>/reset-link")
@agency_admin_required
def send_reset_link(user_id):
    user = _user(user_id)
    return button(
        lambda: send_account_user_link(user, by=current_user, ip=request.remote_addr),
        lambda: f"A link to choose a new password was sent to {user.email}.",
        url_for("agency.users"),
    )


@bp.post("/users/<int:user_id>/temporary-password")
@agency_admin_required
def set_password(user_id):
    user = _user(user_id)
    form = TemporaryPasswordForm()
    if form.validate_on_submit():
        with attempt() as outcome:
            set_account_user_password(user, form.password.data, by=current_user, ip=request.remote_addr)
        if not outcome.failed:
            flash(
                f"Temporary password set for {user.email}: they choose their own when they next log in.",
                "success",
            )
            return redirect(url_for("agency.users"), code=303)
        flash(f"{user.email}: {outcome.message}", "error")
        return redirect(url_for("agency.users"), code=303)
    flash(f"{user.email}: enter the temporary password.", "error")
    return redirect(url_for("agency.users"), code=303)


# --- Statements by e-mail --------------------------------------------------------------------------------


@bp.route("/statements", methods=["GET", "POST"])
@agency_admin_required
def statement_delivery():
    account = current_user.account
    if request.method == "GET":
        form = StatementDeliveryForm(
            formdata=None,
            statement_emails="\n".join(account.statement_addresses),
            statement_schedule=account.statement_schedule,
        )
        status = 200
    else:
        form = StatementDeliveryForm()
        status = 422
        if form.validate_on_submit():
            with attempt() as outcome:
                changes = set_delivery(
                    account,
                    recipients=form.statement_emails.data,
                    schedule=form.statement_schedule.data,
                    by=current_user,
                )
            if not outcome.failed:
                flash("Statements by e-mail saved." if changes else "Nothing to change.", "success")
                return redirect(url_for("agency.statement_delivery"), code=303)
            outcome.to_form(form) or form.statement_emails.errors.append(outcome.message)
            status = outcome.status
    return render(
        "agency/statements.html",
        account=account,
        form=form,
        mailings=recent_mailings(account),
        mail=email_enabled(),
    ), status
