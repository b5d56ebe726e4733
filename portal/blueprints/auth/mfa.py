"""Two-step verification: the code step of a login, the user's own Two-step verification page (set up,
confirm, turn off), an admin's reset, and the guard that keeps staff on that page until they have a
second factor when PORTAL_REQUIRE_MFA_FOR_STAFF=1."""

from flask import Blueprint, flash, redirect, request, session, url_for
from flask_login import current_user, login_required, login_user
from markupsafe import Markup

from portal.blueprints.auth.flow import PENDING, finish_login
from portal.blueprints.auth.mfa_forms import ConfirmEnrolmentForm, DisableForm, LoginCodeForm
from portal.clock import utcnow
from portal.domain.errors import DomainError
from portal.domain.mfa import PENDING_LOGIN_SECONDS
from portal.forms import ActionForm
from portal.htmx import is_partial, redirect_after_post, render
from portal.security import admin_required, found, is_api_request
from portal.services.accounts import get_user
from portal.services.auth import load_user
from portal.services.mfa import (
    confirm_enrolment,
    disable,
    enrolment_qr_svg,
    enrolment_secret,
    must_enrol_first,
    reset,
    second_factor_of,
    start_enrolment,
    verify_login,
)
from portal.uow import attempt, keep_on_error

bp = Blueprint("mfa", __name__)

# The session key of a login whose password was right and whose code is still to come. It holds the
# user's session identity (id and session token: a password change or disabling ends it too), when the
# password was checked and where to go afterwards. The user is not logged in until the code passes.

# What a staff user who must set up a second factor can still reach.
ENROLMENT_ENDPOINTS = frozenset(
    {
        "mfa.two_step",
        "mfa.start_enrolment",
        "mfa.confirm_enrolment",
        "auth.logout",
        "auth.my_account",  # a temporary password is replaced first, then the second factor is set up
        "static",
        "healthz",
        "notifications.bell",  # the header polls it; it shows a count only
    }
)


def _pending_login():
    pending = session.get(PENDING)
    if not isinstance(pending, dict):
        return None, None
    if utcnow().timestamp() - pending.get("since", 0) > PENDING_LOGIN_SECONDS:
        return None, None
    user = load_user(str(pending.get("user", "")))
    if user is None or not user.is_active:
        return None, None
    return user, pending


@bp.route("/login/code", methods=["GET", "POST"])
def verify_code():
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    user, pending = _pending_login()
    if user is None:
        if session.pop(PENDING, None) is not None:
            flash("The time for the code ran out. Log in again.", "info")
        return redirect(url_for("auth.login"), code=303 if request.method == "POST" else 302)
    form = LoginCodeForm()
    if form.validate_on_submit():
        try:
            verify_login(user, form.code.data, request.remote_addr or "unknown")
        except DomainError as exc:
            keep_on_error()  # a wrong code counts towards the login throttle in every worker
            form.code.errors.append(str(exc))
        else:
            return finish_login(user, pending.get("next"))
    return render("auth/mfa_code.html", form=form), (200 if not form.errors else 422)


# --- the user's own page --------------------------------------------------------------------------------


def _grouped(secret: str | None) -> str | None:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) if secret else None


def _settings_page(confirm=None, disable_form=None, status=200):
    factor = second_factor_of(current_user)
    secret = enrolment_secret(current_user)
    qr = Markup(enrolment_qr_svg(current_user, secret)) if secret else None  # noqa: S704 (segno's SVG)
    page = render(
        "auth/mfa_settings.html",
        factor=factor,
        secret=_grouped(secret),
        qr=qr,
        confirm=confirm or ConfirmEnrolmentForm(),
        disable=disable_form or DisableForm(),
        action=ActionForm(),
        required=must_enrol_first(current_user),
    )
    return page, status


@bp.get("/account/two-step")
@login_required
def two_step():
    return _settings_page()


@bp.post("/account/two-step/start", endpoint="start_enrolment")
@login_required
def start_enrolment_view():
    if ActionForm().validate_on_submit():
        with attempt() as outcome:
            start_enrolment(current_user)
        if outcome.failed:
            flash(outcome.message, "error")
    return redirect_after_post(url_for("mfa.two_step"))


@bp.post("/account/two-step/confirm", endpoint="confirm_enrolment")
@login_required
def confirm_enrolment_view():
    form = ConfirmEnrolmentForm()
    if form.validate_on_submit():
        with attempt() as outcome:
            codes = confirm_enrolment(current_user, form.code.data)
        if not outcome.failed:
            # Every other session ended; this one goes on with the user's new session identity.
            login_user(current_user._get_current_object())
            return render("auth/mfa_recovery_codes.html", codes=codes)
        if not outcome.to_form(form):
            flash(outcome.message, "error")
            return redirect_after_post(url_for("mfa.two_step"))
        return _settings_page(confirm=form, status=outcome.status)
    return _settings_page(confirm=form, status=422)


@bp.post("/account/two-step/disable", endpoint="disable_second_factor")
@login_required
def disable_view():
    form = DisableForm()
    if form.validate_on_submit():
        with attempt() as outcome:
            disable(current_user, form.password.data, form.code.data, ip=request.remote_addr)
        if not outcome.failed:
            login_user(current_user._get_current_object())
            flash("Two-step verification is off.", "success")
            return redirect_after_post(url_for("mfa.two_step"))
        if not outcome.to_form(form):
            flash(outcome.message, "error")
            return redirect_after_post(url_for("mfa.two_step"))
        return _settings_page(disable_form=form, status=outcome.status)
    return _settings_page(disable_form=form, status=422)


# --- an admin's reset -----------------------------------------------------------------------------------


@bp.post("/admin/users/<int:user_id>/two-step/reset")
@admin_required
def reset_second_factor(user_id):
    user = found(get_user(user_id))
    if ActionForm().validate_on_submit():
        with attempt() as outcome:
            reset(user, by=current_user, ip=request.remote_addr)
        if outcome.failed:
            flash(outcome.message, "error")
        else:
            flash(f"Two-step verification of {user.email} is reset; they set it up again.", "success")
    return redirect(url_for("admin.users"), code=303)


# --- staff without a second factor, where one is required ------------------------------------------------


@bp.before_app_request
def staff_set_up_first():
    if is_api_request():
        return None
    if request.endpoint in ENROLMENT_ENDPOINTS or not current_user.is_authenticated:
        return None
    if not must_enrol_first(current_user):
        return None
    target = url_for("mfa.two_step")
    if is_partial() or request.headers.get("HX-Request"):
        return redirect_after_post(target)
    return redirect(target, code=303 if request.method == "POST" else 302)
