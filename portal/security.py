"""Security headers, role checks and the tenant-scoping helper every agent-facing lookup uses."""

import time
from datetime import UTC, datetime
from functools import wraps
from typing import TypeVar

from flask import Response, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature

from portal.htmx import is_partial
from portal.models import Booking
from portal.services.bookings import load_booking
from portal.services.scope import Scope

T = TypeVar("T")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)


def set_security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if current_app.config.get("HSTS_SECONDS"):
        response.headers.setdefault(
            "Strict-Transport-Security", f"max-age={current_app.config['HSTS_SECONDS']}; includeSubDomains"
        )
    if response.mimetype == "text/html":
        # Pages carry customers' personal data: never keep them in shared or disk caches.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def roles_required(*roles: str):
    """Login required, and the user's role must be one of `roles` (else 403)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


staff_required = roles_required("operations", "admin")

# What a user whose password is temporary may still reach: the page where they choose their own, logging
# out, and what that page needs (the header's bell polls every minute: redirecting it would reload the
# page under the user's typing).
OPEN_WITH_TEMPORARY_PASSWORD = frozenset(
    {"auth.my_account", "auth.logout", "static", "healthz", "notifications.bell"}
)


API_PREFIX = "/api/"


def is_api_request() -> bool:
    """A call of the agency API: authenticated by its bearer key alone, never by a browser session, so
    the pages' session guards (temporary password, staff second factor) do not apply to it."""
    return request.path.startswith(API_PREFIX)


def require_own_password():
    """Before every request: a user logged in with a password an admin typed is sent to My account to
    choose their own, whatever URL they ask for (htmx requests are redirected as a whole page)."""
    if is_api_request():
        return None
    if request.endpoint in OPEN_WITH_TEMPORARY_PASSWORD or not current_user.is_authenticated:
        return None
    if not current_user.must_change_password:
        return None
    target = url_for("auth.my_account")
    if is_partial():
        return Response(status=204, headers={"HX-Redirect": target})
    return redirect(target)


admin_required = roles_required("admin")


def current_scope() -> Scope:
    """The logged-in user's tenant scope: their own account, or every account for staff."""
    return Scope.of(current_user)


def found(obj: T | None) -> T:
    """The object a scoped loader found, or 404 (unknown and another account's look the same)."""
    if obj is None:
        abort(404)
    return obj


def booking_or_404(order_number: str) -> Booking:
    """The one scoped loader of a booking for every page that names one in its URL."""
    return found(load_booking(order_number, current_scope()))


# A permanent session's cookie is signed again (its 12-hour expiry moved on) at most this often while the
# user is active, rather than on every request.
SESSION_REFRESH_SECONDS = 300


class ThrottledRefreshSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, sent back to the browser only when it changed, or when the cookie the
    browser holds was signed over SESSION_REFRESH_SECONDS ago: an active user's session still slides its
    expiry forward (to within five minutes), without signing and sending a new cookie on every request
    (about 0.13 ms each, a tenth of a bare endpoint)."""

    def open_session(self, app, request):
        signer = self.get_signing_serializer(app)
        if signer is None:
            return None
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = signer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        session = self.session_class(data)
        session.signed_at = signed_at
        return session

    def should_set_cookie(self, app, session) -> bool:
        if session.modified:
            return True
        if not (session.permanent and app.config["SESSION_REFRESH_EACH_REQUEST"]):
            return False
        signed_at = getattr(session, "signed_at", None)
        # Real time, as the signature's own timestamp (the portal's clock is frozen in tests).
        return signed_at is None or (datetime.now(UTC) - signed_at).total_seconds() >= SESSION_REFRESH_SECONDS


# A page's form token is signed once per session and reused for this long: signing it (an HMAC and a
# timestamp) cost a tenth of a bare endpoint on every page. It stays valid WTF_CSRF_TIME_LIMIT (12 hours)
# from its signing, so a page loaded now holds a token good for at least 11 h 55 min.
CSRF_TOKEN_REUSE_SECONDS = 300
_CSRF_TOKENS_KEPT = 10_000


def csrf_token() -> str:
    """The form token for this request (the templates' csrf_token()): Flask-WTF's, reused from an earlier
    request of the same session while it is under CSRF_TOKEN_REUSE_SECONDS old."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    if field in g:
        return g.get(field)
    signed = current_app.extensions.setdefault("portal_csrf_tokens", {})
    now = time.monotonic()
    raw = session.get(field)
    # Never longer than a tenth of the token's life, should WTF_CSRF_TIME_LIMIT be set short.
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT")
    reuse = CSRF_TOKEN_REUSE_SECONDS if limit is None else min(CSRF_TOKEN_REUSE_SECONDS, limit / 10)
    if isinstance(raw, str) and (kept := signed.get(raw)) and now - kept[1] < reuse:
        setattr(g, field, kept[0])  # what Flask-WTF's forms read in this request too
        return kept[0]
    token = generate_csrf()
    if len(signed) >= _CSRF_TOKENS_KEPT:
        signed.clear()
    signed[session[field]] = (token, now)
    return token
