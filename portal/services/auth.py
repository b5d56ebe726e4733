"""Passwords, login with throttling, session identity, and user/account administration."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import func, select

from portal.clock import utcnow
from portal.domain.audit import AuditKind
from portal.domain.errors import DomainError
from portal.domain.money import AmountOutOfRange, UnsupportedCurrency, decimals_phrase, minor_units, to_amount
from portal.extensions import db
from portal.models import Account, LoginAttempt, User
from portal.models.accounts import ROLES
from portal.services import audit

_HASHERS: dict[str, PasswordHasher] = {}


class AuthError(DomainError):
    """A login or administration request that cannot be done; the message is for the user."""


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


def normalise_email(email: str) -> str:
    return email.strip().lower()


def load_user(session_id: str) -> User | None:
    """Flask-Login loader: the session carries id and session token; a rotated token ends it."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


@dataclass(frozen=True)
class Throttle:
    locked_until: datetime | None

    @property
    def locked(self) -> bool:
        return self.locked_until is not None


def login_throttle(email: str, ip: str, now: datetime) -> Throttle:
    """Whether logins for this email or from this address are locked, from the shared attempt log."""
    cfg = current_app.config
    window = timedelta(seconds=cfg["LOGIN_WINDOW_SECONDS"])
    limit = cfg["LOGIN_MAX_FAILURES"]
    since = now - window
    last_success = db.session.scalar(
        select(func.max(LoginAttempt.attempted_at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True), LoginAttempt.attempted_at > since
        )
    )
    email_since = max(since, last_success) if last_success else since
    checks = (
        (LoginAttempt.email == email, email_since, limit),
        (LoginAttempt.ip == ip, since, limit * 4),
    )
    locked_until = None
    for condition, start, max_failures in checks:
        failures = db.session.scalars(
            select(LoginAttempt.attempted_at)
            .where(condition, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at > start)
            .order_by(LoginAttempt.attempted_at.desc())
            .limit(max_failures)
        ).all()
        if len(failures) >= max_failures:
            # Locked until the oldest of the last `max_failures` failures leaves the window.
            until = failures[-1] + window
            locked_until = max(locked_until, until) if locked_until else until
    return Throttle(locked_until)


def authenticate(email: str, password: str, ip: str, now: datetime | None = None) -> User:
    """The active user with these credentials; records the attempt. Raises AuthError otherwise."""
    now = now or utcnow()
    email = normalise_email(email)
    throttle = login_throttle(email, ip, now)
    if throttle.locked:
        minutes = max(1, int((throttle.locked_until - now).total_seconds() // 60) + 1)
        audit.record(AuditKind.LOGIN_FAILED, email=email, ip=ip, detail="Refused: logins paused", now=now)
        raise AuthError(
            f"Too many failed attempts. For your security, logging in is paused; try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}."
        )
    user = db.session.scalar(select(User).where(User.email == email))
    ok = check_password(user, password) and user is not None and user.is_active
    db.session.add(LoginAttempt(email=email, ip=ip[:64], attempted_at=now, succeeded=ok))
    if not ok:
        why = (
            "unknown e-mail"
            if user is None
            else ("user disabled" if not user.is_active else "wrong password")
        )
        audit.record(AuditKind.LOGIN_FAILED, subject=user, email=email, ip=ip, detail=why, now=now)
        raise AuthError("Email or password is not correct, or the user is disabled.")
    if _hasher().check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = now
    audit.record(AuditKind.LOGIN, actor=user, ip=ip, now=now)
    return user


def log_out(user: User, ip: str | None = None) -> None:
    """End every session of the user (not only this browser's) and note it in the audit trail."""
    user.end_sessions()
    audit.record(AuditKind.LOGOUT, actor=user, ip=ip)


def create_account(
    code: str, name: str, currency: str, service_fee=None, *, by: User | None = None
) -> Account:
    """A new client account; codes are unique and upper case."""
    code = code.strip().upper()
    currency = currency.strip().upper()
    if not code or len(code) > 20 or not code.replace("-", "").isalnum():
        raise AuthError("Account code must be 1–20 letters, digits or hyphens.", field="code")
    if len(currency) != 3 or not currency.isalpha():
        raise AuthError("Currency must be a three-letter ISO 4217 code such as SGD.", field="currency")
    try:
        minor_units(currency)
        if service_fee is not None:
            service_fee = to_amount(service_fee, currency)
    except UnsupportedCurrency as exc:
        raise AuthError(f"{exc}.", field="currency") from None
    except AmountOutOfRange:
        raise AuthError(
            f"The service fee in {currency} can have {decimals_phrase(currency)}.", field="service_fee"
        ) from None
    if not name.strip():
        raise AuthError("Account name is required.", field="name")
    if db.session.scalar(select(Account.id).where(Account.code == code)):
        raise AuthError(f"An account with code {code} already exists.", field="code")
    account = Account(code=code, name=name.strip(), currency=currency)
    if service_fee is not None:
        account.service_fee = service_fee
    db.session.add(account)
    db.session.flush()
    audit.record(
        AuditKind.ACCOUNT_CREATED,
        actor=by,
        subject=None,
        account_id=account.id,
        detail=f"{account.code} ({account.name}), service fee {account.service_fee_money}",
    )
    return account


MIN_PASSWORD_LENGTH = 10


def create_user(
    email: str,
    name: str,
    role: str,
    password: str,
    account_code: str | None = None,
    *,
    by: User | None = None,
) -> User:
    """A new user; agents belong to exactly one client account, staff to none."""
    email = normalise_email(email)
    if "@" not in email or " " in email or len(email) > 254:
        raise AuthError("Enter a valid email address.", field="email")
    if role not in ROLES:
        raise AuthError(f"Role must be one of: {', '.join(ROLES)}.", field="role")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters.", field="password")
    if not name.strip():
        raise AuthError("Name is required.", field="name")
    account = None
    if role == "agent":
        if not account_code:
            raise AuthError("An agent must belong to a client account.", field="account")
        account = db.session.scalar(select(Account).where(Account.code == account_code.strip().upper()))
        if account is None:
            raise AuthError(f"No client account with code {account_code}.", field="account")
    elif account_code:
        raise AuthError(
            "Operations and admin users belong to the host, not to a client account.", field="account"
        )
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AuthError(f"A user with email {email} already exists.", field="email")
    user = User(
        email=email, name=name.strip(), role=role, account=account, password_hash=hash_password(password)
    )
    db.session.add(user)
    db.session.flush()
    audit.record(AuditKind.USER_CREATED, actor=by, subject=user, detail=f"Role {user.role}")
    return user


def set_user_active(user: User, active: bool, by: User) -> None:
    """Enable or disable a user; disabling ends their sessions at once."""
    if user.id == by.id and not active:
        raise AuthError("You cannot disable yourself.")
    user.active = active
    if not active:
        user.end_sessions()
    audit.record(AuditKind.USER_ENABLED if active else AuditKind.USER_DISABLED, actor=by, subject=user)


def set_account_active(account: Account, active: bool, *, by: User | None = None) -> None:
    """Enable or disable a client account; disabling ends every session of its users."""
    account.active = active
    if not active:
        for user in account.users:
            user.end_sessions()
    kind = AuditKind.ACCOUNT_ENABLED if active else AuditKind.ACCOUNT_DISABLED
    audit.record(kind, actor=by, subject=None, account_id=account.id, detail=account.code)


def record_failed_login(
    email: str, ip: str, *, user: User | None = None, detail: str, now: datetime | None = None
) -> None:
    """One failed login attempt that is not a wrong password (a wrong second-factor code): it counts
    towards the throttle exactly as a wrong password does, and goes into the audit trail."""
    now = now or utcnow()
    email = normalise_email(email)
    db.session.add(LoginAttempt(email=email, ip=ip[:64], attempted_at=now, succeeded=False))
    audit.record(AuditKind.LOGIN_FAILED, subject=user, email=email, ip=ip, detail=detail, now=now)


def login_paused_message(throttle: Throttle, now: datetime) -> str:
    """What a locked login is told: for how long logging in is paused."""
    minutes = max(1, int((throttle.locked_until - now).total_seconds() // 60) + 1)
    return (
        f"Too many failed attempts. For your security, logging in is paused; try again in {minutes} "
        f"minute{'s' if minutes != 1 else ''}."
    )
