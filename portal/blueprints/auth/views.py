from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, logout_user

from portal.blueprints.auth.flow import after_password, home_for, landing, start_session
from portal.blueprints.auth.forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, ResetPasswordForm
from portal.forms import ActionForm
from portal.htmx import render
from portal.security import found
from portal.services import passwords
from portal.services.auth import AuthError, LoginPaused, authenticate, log_out
from portal.services.passwords import links_by_email
from portal.uow import attempt, keep_on_error

bp = Blueprint("auth", __name__)


def _client_ip() -> str:
    return request.remote_addr or "unknown"


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    paused = False
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, _client_ip())
        except AuthError as exc:
            keep_on_error()  # the failed login stays in the audit trail
            form.password.errors.append(str(exc))
            paused = isinstance(exc, LoginPaused)
        else:
            return after_password(user, request.args.get("next"))
    return render("auth/login.html", form=form, paused=paused), (200 if not form.errors else 422)


@bp.post("/logout")
@login_required
def logout():
    ActionForm().validate_on_submit()  # CSRF is enforced globally; the form only documents intent
    log_out(current_user, _client_ip())  # every session of this user ends, not only this browser's
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))


# --- the user's own password --------------------------------------------------------------------------


@bp.route("/account", methods=["GET", "POST"])
@login_required
def my_account():
    form = ChangePasswordForm()
    status = 200
    if form.validate_on_submit():
        user = current_user._get_current_object()
        was_temporary = user.must_change_password
        with attempt() as outcome:
            passwords.change_password(
                user, form.current_password.data, form.new_password.data, ip=_client_ip()
            )
        if not outcome.failed:
            start_session(user)  # this browser stays logged in; every other session has ended
            flash("Your password was changed. Your other sessions have ended.", "success")
            target = landing(user, None) if was_temporary else url_for("auth.my_account")
            return redirect(target, code=303)
        outcome.to_form(form) or form.new_password.errors.append(outcome.message)
        status = outcome.status
    elif form.errors:
        status = 422
    return render("auth/my_account.html", form=form), status


# --- reset by e-mail ----------------------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    sent = False
    if form.validate_on_submit():
        with attempt():
            passwords.request_password_reset(form.email.data, ip=_client_ip())
        sent = True  # the same answer whether or not the address is a user's
    status = 422 if form.errors else 200
    return render("auth/forgot_password.html", form=form, sent=sent, mail=links_by_email()), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token):
    link = found(passwords.load_reset_link(token))
    with attempt() as outcome:
        passwords.check_reset_link(link)
    if outcome.failed:
        return render("auth/reset_password.html", form=None, problem=outcome.message), outcome.status
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        with attempt() as outcome:
            passwords.reset_password(link, form.new_password.data, ip=_client_ip())
        if not outcome.failed:
            logout_user()
            session.clear()
            flash(
                "Your password was changed and every session of yours has ended. "
                "Log in with the new password.",
                "success",
            )
            return redirect(url_for("auth.login"), code=303)
        if not outcome.to_form(form):
            return render("auth/reset_password.html", form=None, problem=outcome.message), outcome.status
        status = outcome.status
    elif form.errors:
        status = 422
    return render("auth/reset_password.html", form=form, problem=None), status
