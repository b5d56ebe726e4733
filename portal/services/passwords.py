"""Passwords: the hash, the one rule every new password meets (with the vendored list of common
passwords), changing one's own, temporary passwords typed by an admin, and reset links by e-mail."""

from __future__ import annotations

import gzip
import hashlib
import secrets
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select, update

from portal.clock import utcnow
from portal.domain.accounts import normalise_email
from portal.domain.audit import AuditKind
from portal.domain.errors import Conflict, DomainError
from portal.domain.passwords import password_refusal
from portal.extensions import db
from portal.links import absolute_url, path_for
from portal.models import PasswordReset, User
from portal.services import audit, throttle
from portal.services.notifications import email_enabled, queue_email
from portal.services.transitions import claim

RESET_LINK_VALID_FOR = timedelta(hours=1)
# A mailbox gets at most this many reset links an hour, however often the form is sent.
MAX_RESET_LINKS_PER_HOUR = 3
LINK_USED = "This reset link was already used: each link works once. Ask for a new one if you need it."

_HASHERS: dict[str, PasswordHasher] = {}


def _hasher() -> PasswordHasher:
    # argon2id with the library's RFC 9106 defaults; tests may choose a cheaper profile.
    profile = current_app.config.get("ARGON2_PROFILE", "default")
    if profile not in _HASHERS:
        _HASHERS[profile] = (
            PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
            if profile == "fast-for-tests"
            else PasswordHasher()
        )
    return _HASHERS[profile]


def hash_password(password: str) -> str:
    """A salted argon2id hash of `password`."""
    return _hasher().hash(password)


def check_password(user: User | None, password: str) -> bool:
    """True when `password` matches; spends the same effort when there is no such user."""
    hasher = _hasher()
    if user is None:
        hasher.hash(password)
        return False
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(user: User) -> bool:
    """True when the user's hash was made with weaker parameters than today's."""
    return _hasher().check_needs_rehash(user.password_hash)


# --- the rule for new passwords -------------------------------------------------------------------------


@cache
def common_passwords() -> frozenset[str]:
    """Django's list of 20,000 common passwords (portal/data, BSD-3), read once per process."""
    source = resources.files("portal").joinpath("data/common-passwords.txt.gz")
    with source.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as lines:
        return frozenset(word for line in lines if (word := line.strip().casefold()))


def new_password_refusal(password: str, email: str) -> str | None:
    """Why `password` may not become the password of the user with `email` (None: it may); forms ask it
    to show the refusal beside the other fields' errors."""
    return password_refusal(password, email=email, common=common_passwords())


def check_new_password(password: str, email: str, *, field: str = "password") -> None:
    """Refuse (under `field`) a new password that breaks the rule of portal.domain.passwords."""
    refusal = new_password_refusal(password, email)
    if refusal:
        raise DomainError(refusal, field=field)


def _set_password(user: User, password: str, *, temporary: bool, now: datetime) -> None:
    user.password_hash = hash_password(password)
    user.must_change_password = temporary
    user.end_sessions()
    # A link asked for earlier must not undo the password chosen now.
    spend_links(user, now)


def spend_links(user: User, now: datetime | None = None) -> None:
    """Every unused reset link of the user stops working (a new password, or the user disabled: a link
    must not come back to life when the user is enabled again)."""
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now or utcnow())
        .execution_options(synchronize_session=False)
    )


def change_password(user: User, current: str, new: str, *, ip: str | None = None, now=None) -> None:
    """The user changes their own password. Every session of theirs ends (the caller starts the current
    one again), a temporary password stops being one, and unused reset links stop working."""
    now = now or utcnow()
    # Guesses of the current password are login guesses: a stolen session must not try them without end.
    admission = throttle.admit(user.email, ip or "unknown", now)
    if not admission.allowed:
        raise DomainError(throttle.paused_message(admission.retry_in_minutes), field="current_password")
    if not check_password(user, current):
        raise DomainError("The current password is not correct.", field="current_password")
    if new == current:
        raise DomainError("Choose a password different from the current one.", field="new_password")
    check_new_password(new, user.email, field="new_password")
    throttle.succeeded(user.email, ip or "unknown")
    _set_password(user, new, temporary=False, now=now)
    audit.record(AuditKind.PASSWORD_CHANGED, actor=user, ip=ip, now=now)


def set_temporary_password(user: User, password: str, *, by: User, ip: str | None = None, now=None) -> None:
    """An admin types a password for the user: it works once, to log in and choose their own."""
    if user.id == by.id:
        raise DomainError("Change your own password on My account.", field="password")
    check_new_password(password, user.email, field="password")
    now = now or utcnow()
    _set_password(user, password, temporary=True, now=now)
    audit.record(
        AuditKind.PASSWORD_RESET, actor=by, subject=user, ip=ip, now=now, detail="Temporary password set"
    )


# --- reset links by e-mail --------------------------------------------------------------------------------


def links_by_email() -> bool:
    """Whether the portal can e-mail a link to set a password: SMTP is configured, and so is the address
    links name (PORTAL_PUBLIC_URL). Outside development and tests a link never names the host a request
    came to: a client chooses its Host header, and a reset link naming an attacker's host hands them the
    token."""
    if not email_enabled():
        return False
    return bool(current_app.config.get("PUBLIC_URL")) or current_app.debug or current_app.testing


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _send_link(user: User, now: datetime) -> bool:
    """Queue an e-mail with a new single-use link; False when the hour's links were all sent already."""
    recent = db.session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.created_at > now - timedelta(hours=1))
    )
    if recent >= MAX_RESET_LINKS_PER_HOUR:
        return False
    token = secrets.token_urlsafe(32)
    db.session.add(
        PasswordReset(
            user_id=user.id,
            token_hash=_token_hash(token),
            created_at=now,
            expires_at=now + RESET_LINK_VALID_FOR,
        )
    )
    url = absolute_url(path_for("auth.reset_password", token=token))
    operator = current_app.config["OPERATOR_NAME"]
    body = (
        f"Hello {user.name},\n\n"
        f"Someone asked to reset the password of your {operator} Portal login ({user.email}).\n"
        f"To choose a new password, open this link within one hour; it works once:\n\n{url}\n\n"
        "If you did not ask for it, ignore this e-mail: your password stays as it is.\n"
    )
    return queue_email(user.email, "Reset your password", body, now=now)


def request_password_reset(email: str, *, ip: str | None = None, now=None) -> None:
    """ "Forgot your password?": a link goes to the address if an active user has it. The caller answers
    the same whether or not one does; the audit trail keeps what happened."""
    now = now or utcnow()
    email = normalise_email(email)
    if not links_by_email():
        return
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active:
        why = "no such user" if user is None else "user disabled"
        audit.record(
            AuditKind.PASSWORD_RESET_REQUESTED,
            subject=user,
            email=email,
            ip=ip,
            now=now,
            detail=f"Not sent: {why}",
        )
        return
    sent = _send_link(user, now)
    audit.record(
        AuditKind.PASSWORD_RESET_REQUESTED,
        subject=user,
        ip=ip,
        now=now,
        detail="Link sent" if sent else f"Not sent: {MAX_RESET_LINKS_PER_HOUR} links in the last hour",
    )


def send_reset_link(user: User, *, by: User, ip: str | None = None, now=None) -> None:
    """An admin sends the user a reset link (Admin → Users → the user → Send reset link)."""
    if not links_by_email():
        raise DomainError(
            "This portal sends no e-mail (no SMTP server is configured): set a temporary password instead."
        )
    if not user.is_active:
        raise Conflict(f"{user.email} is disabled: enable the user first.")
    now = now or utcnow()
    if not _send_link(user, now):
        raise Conflict(f"{MAX_RESET_LINKS_PER_HOUR} links were sent to {user.email} in the last hour; wait.")
    audit.record(
        AuditKind.PASSWORD_RESET_REQUESTED,
        actor=by,
        subject=user,
        ip=ip,
        now=now,
        detail="Link sent by an admin",
    )


def load_reset_link(token: str) -> PasswordReset | None:
    """The reset link this token belongs to, used or not, or None."""
    if not token or len(token) > 200:
        return None
    return db.session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _token_hash(token)))


def check_reset_link(link: PasswordReset, now=None) -> None:
    """Refuse a link that was used or has expired, saying which."""
    now = now or utcnow()
    if link.used_at is not None:
        raise Conflict(LINK_USED)
    if link.expires_at <= now:
        raise Conflict("This reset link has expired: links work for one hour. Ask for a new one.")
    if not link.user.is_active:
        raise Conflict("This login is disabled: ask your administrator.")


def reset_password(link: PasswordReset, new_password: str, *, ip: str | None = None, now=None) -> User:
    """Set the user's new password through a reset link: the link is spent, every session of the user
    ends and the login throttle forgets the address (its owner has just proved it holds the mailbox)."""
    now = now or utcnow()
    check_reset_link(link, now)
    user = link.user
    check_new_password(new_password, user.email, field="new_password")
    if not claim(link, expected={"used_at": None}, values={"used_at": now}):
        raise Conflict(LINK_USED)
    _set_password(user, new_password, temporary=False, now=now)
    throttle.forget_email(user.email)
    audit.record(AuditKind.PASSWORD_RESET, actor=user, ip=ip, now=now, detail="With an e-mailed link")
    return user
