from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.blueprints.auth.forms import LoginForm
from portal.blueprints.auth.mfa import second_step
from portal.forms import ActionForm
from portal.htmx import render
from portal.links import local_path
from portal.services.auth import AuthError, authenticate, log_out
from portal.uow import keep_on_error

bp = Blueprint("auth", __name__)


def home_for(user) -> str:
    return url_for("bookings.my_bookings")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, request.remote_addr or "unknown")
        except AuthError as exc:
            keep_on_error()  # the failed attempt counts towards throttling in every worker
            form.password.errors.append(str(exc))
        else:
            if (code_step := second_step(user)) is not None:
                return code_step  # a second factor: not logged in until its code passes
            # A fresh session at login: nothing from before login (fixation) survives.
            session.clear()
            login_user(user)
            session.permanent = True
            return redirect(local_path(request.args.get("next")) or home_for(user), code=303)
    return render("auth/login.html", form=form), (200 if not form.errors else 422)


@bp.post("/logout")
@login_required
def logout():
    ActionForm().validate_on_submit()  # CSRF is enforced globally; the form only documents intent
    log_out(current_user, request.remote_addr)  # every session of this user ends, not only this browser's
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), code=303)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return redirect(url_for("auth.login"))
