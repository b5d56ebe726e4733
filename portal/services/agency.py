"""An agency's own administration: its agency admin invites, disables and resets the users of its own
client account, and never sees or touches another account's. The rules for roles, passwords and links
are the same as the host's admins use (services.auth, services.passwords)."""

from __future__ import annotations

import secrets

from sqlalchemy import select

from portal.domain.errors import DomainError, NotPermitted
from portal.extensions import db
from portal.models import User
from portal.services.auth import create_user, set_user_active
from portal.services.passwords import links_by_email, send_reset_link, set_temporary_password


def _check_runs(by: User, user: User | None = None) -> None:
    """Only an agency admin runs an agency's users, and only its own account's."""
    if not by.is_agency_admin or by.account_id is None:
        raise NotPermitted("Only the agency's admin manages its users.")
    if user is not None and user.account_id != by.account_id:
        raise NotPermitted("That user is not in your agency.")
    if user is not None and user.is_agency_admin:
        # The host's admins make, unmake and reset agency admins; one agency admin cannot lock out another.
        raise NotPermitted("Another agency admin is managed by the portal's administrators.")


def account_users(by: User) -> list[User]:
    """The users of the agency admin's own account, by name."""
    _check_runs(by)
    return list(db.session.scalars(select(User).where(User.account_id == by.account_id).order_by(User.name)))


def load_account_user(user_id: int, by: User) -> User | None:
    """A user of the agency admin's own account; another account's is None, as an unknown one is."""
    return db.session.scalar(select(User).where(User.id == user_id, User.account_id == by.account_id))


def invite_user(
    *, email: str, name: str, role: str, temporary_password: str | None, by: User, ip: str | None = None
) -> User:
    """A new user of the agency admin's account. With e-mail, the invitation is a link to choose their
    own password (valid one hour, like a reset); without, or when a temporary password is typed, they
    log in with it once and choose their own."""
    _check_runs(by)
    if role != "agent":  # agency admins are made by the host's admins (Admin → Users)
        raise DomainError(
            "An agency admin invites agents; ask the portal's administrators for another agency admin.",
            field="role",
        )
    if temporary_password:
        return create_user(email, name, role, temporary_password, by.account.code, by=by, temporary=True)
    if not links_by_email():
        raise DomainError(
            "This portal sends no e-mail (no SMTP server is configured): type a temporary password for the "
            "new user and tell them by another channel.",
            field="temporary_password",
        )
    # A password nobody knows: the link in the invitation is the only way in.
    user = create_user(email, name, role, secrets.token_urlsafe(32), by.account.code, by=by)
    send_reset_link(user, by=by, ip=ip)
    return user


def set_account_user_active(user: User, active: bool, *, by: User) -> None:
    """Disable (ending their sessions at once) or enable a user of the agency admin's account."""
    _check_runs(by, user)
    set_user_active(user, active, by=by)


def send_account_user_link(user: User, *, by: User, ip: str | None = None) -> None:
    """E-mail a user of the agency admin's account a link to choose a new password."""
    _check_runs(by, user)
    send_reset_link(user, by=by, ip=ip)


def set_account_user_password(user: User, password: str, *, by: User, ip: str | None = None) -> None:
    """Type a temporary password for a user of the agency admin's account (changed at first login)."""
    _check_runs(by, user)
    set_temporary_password(user, password, by=by, ip=ip)
