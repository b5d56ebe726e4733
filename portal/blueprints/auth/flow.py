"""Where a login goes once the password is right: the one place that decides it, for the login form and
for the second-factor step alike."""

from flask import redirect, request, session, url_for
from flask_login import login_user

from portal.clock import utcnow
from portal.links import local_path
from portal.services.auth import complete_login
from portal.services.mfa import is_enrolled

# The session key of a login half-way: the password was right, the second factor is still to come.
PENDING = "mfa_pending"


def home_for(user) -> str:
    """Every role lands on Home, which shows what waits on that role."""
    return url_for("home.home")


def start_session(user) -> None:
    """A fresh session for `user`: nothing from before it survives (fixation), and a session token the
    user's password change just rotated is taken up."""
    session.clear()
    login_user(user)
    session.permanent = True


def landing(user, requested: str | None) -> str:
    """Where a logged-in user goes first: My account to replace a temporary password an admin typed;
    otherwise where they were going (this site only), else their home page."""
    if user.must_change_password:
        return url_for("auth.my_account")
    return local_path(requested) or home_for(user)


def after_password(user, requested: str | None):
    """The response once the password was checked. A user with a second factor is not logged in yet: the
    session only remembers who is half-way (for a few minutes) and goes to the code step."""
    if is_enrolled(user):
        session.clear()  # nothing from before the login survives, as at a login
        session[PENDING] = {"user": user.get_id(), "since": int(utcnow().timestamp()), "next": requested}
        return redirect(url_for("mfa.verify_code"), code=303)
    return finish_login(user, requested)


def finish_login(user, requested: str | None):
    """Every step passed: the login is complete (throttle, last login, audit), the user gets a fresh
    session and goes where landing() says."""
    complete_login(user, request.remote_addr or "unknown")
    start_session(user)
    return redirect(landing(user, requested), code=303)
