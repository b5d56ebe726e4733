"""Security headers, role checks and the tenant-scoping helper every agent-facing lookup uses."""

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

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
admin_required = roles_required("admin")


def scoped(stmt, account_column):
    """Limit a select to the current agent's account; staff see every account.

    Every agent-facing lookup goes through here, so another account's object is simply not found.
    """
    if current_user.is_staff:
        return stmt
    return stmt.where(account_column == current_user.account_id)


def one_or_404(stmt, account_column):
    """The single row `stmt` selects within the current user's scope, or 404."""
    from portal.extensions import db

    row = db.session.execute(scoped(stmt, account_column)).scalar_one_or_none()
    if row is None:
        abort(404)
    return row
