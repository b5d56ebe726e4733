"""Login (with the throttle), session identity, and the administration of users and client accounts:
the rules for roles and accounts live here once."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from portal.clock import utcnow
from portal.domain.accounts import normalise_email, parse_email_list, valid_email
from portal.domain.audit import AuditKind
from portal.domain.errors import DomainError
from portal.domain.money import (
    AmountOutOfRange,
    TypedAmountError,
    UnsupportedCurrency,
    decimals_phrase,
    minor_units,
    parse_typed_amount,
    to_amount,
)
from portal.extensions import db
from portal.models import Account, User
from portal.models.accounts import AGENCY_ROLES, ROLES
from portal.services import audit, throttle
from portal.services.api_keys import revoke_all_keys
from portal.services.passwords import (
    check_new_password,
    check_password,
    hash_password,
    needs_rehash,
    spend_links,
)
from portal.services.statement_mail import apply_delivery


class AuthError(DomainError):
    """A login or administration request that cannot be done; the message is for the user."""


class LoginPaused(AuthError):
    """Too many attempts for this e-mail (from this address, or at all): try later, or reset the password."""

    def __init__(self, minutes: int):
        super().__init__(
            f"Too many failed attempts. For your security, logging in is paused; try again in {minutes} "
            f"minute{'s' if minutes != 1 else ''}, or reset your password."
        )
        self.retry_in_minutes = minutes


# Built once (every request runs it); the id is bound at each call.
_USER_WITH_ACCOUNT = select(User).where(User.id == bindparam("user_id")).options(joinedload(User.account))


def load_user(session_id: str) -> User | None:
    """Flask-Login loader: the session carries id and session token; a rotated token ends it."""
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    # The account comes along in the same query: every page's header shows it.
    user = db.session.scalar(_USER_WITH_ACCOUNT, {"user_id": int(user_id)})
    if user is None or not secrets.compare_digest(user.session_token, token):
        return None
    return user


def authenticate(email: str, password: str, ip: str, now: datetime | None = None) -> User:
    """The active user with these credentials; raises AuthError otherwise (LoginPaused when throttled).
    Checks the password only: complete_login() finishes the login once every step has passed.

    The attempt is counted (services/throttle.py, committed at once) before the password is checked, so
    parallel guesses cannot slip past the limit between a read and a write.
    """
    now = now or utcnow()
    email = normalise_email(email)
    admission = throttle.admit(email, ip, now)
    if not admission.allowed:
        audit.record(AuditKind.LOGIN_FAILED, email=email, ip=ip, detail="Refused: logins paused", now=now)
        raise LoginPaused(admission.retry_in_minutes)
    user = db.session.scalar(select(User).where(User.email == email))
    ok = check_password(user, password) and user is not None and user.is_active
    if not ok:
        why = (
            "unknown e-mail"
            if user is None
            else ("user disabled" if not user.is_active else "wrong password")
        )
        audit.record(AuditKind.LOGIN_FAILED, subject=user, email=email, ip=ip, detail=why, now=now)
        raise AuthError("Email or password is not correct, or the user is disabled.")
    if needs_rehash(user):
        user.password_hash = hash_password(password)
    return user


def complete_login(user: User, ip: str, now: datetime | None = None) -> None:
    """The login is complete (the password, and the second factor when the user has one): the attempts
    this address made are taken back from the throttle, and the login is noted.

    Not at the password step for a user with a second factor: otherwise typing the right password again
    would restart the count of wrong codes (issue 12's review)."""
    now = now or utcnow()
    throttle.succeeded(user.email, ip)
    user.last_login_at = now
    audit.record(AuditKind.LOGIN, actor=user, ip=ip, now=now)


def record_failed_login(
    email: str, ip: str, *, user: User | None = None, detail: str, now: datetime | None = None
) -> None:
    """A failed step of a login other than the password (a wrong second-factor code) in the audit trail;
    the attempt itself was counted by throttle.admit() before the step was checked."""
    audit.record(
        AuditKind.LOGIN_FAILED, subject=user, email=normalise_email(email), ip=ip, detail=detail, now=now
    )


def log_out(user: User, ip: str | None = None) -> None:
    """End every session of the user (not only this browser's) and note it in the audit trail."""
    user.end_sessions()
    audit.record(AuditKind.LOGOUT, actor=user, ip=ip)


# --- client accounts ----------------------------------------------------------------------------------


def _service_fee(value: str | Decimal | int | None, currency: str) -> Decimal | None:
    """The per-passenger service fee as typed (text, through the one amount parser) or given (Decimal)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        fee = parse_typed_amount(value, currency) if isinstance(value, str) else to_amount(value, currency)
    except TypedAmountError as exc:
        raise AuthError(f"Service fee: {exc.message}", field="service_fee") from None
    except AmountOutOfRange:
        message = f"The service fee in {currency} can have {decimals_phrase(currency)}."
        raise AuthError(message, field="service_fee") from None
    if fee < 0:
        raise AuthError("The service fee cannot be negative.", field="service_fee")
    return fee


def _account_name(name: str) -> str:
    if not name.strip():
        raise AuthError("Account name is required.", field="name")
    return name.strip()


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
    except UnsupportedCurrency as exc:
        raise AuthError(f"{exc}.", field="currency") from None
    service_fee = _service_fee(service_fee, currency)
    name = _account_name(name)
    if db.session.scalar(select(Account.id).where(Account.code == code)):
        raise AuthError(f"An account with code {code} already exists.", field="code")
    account = Account(code=code, name=name, currency=currency)
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


def update_account(
    account: Account,
    *,
    name: str,
    service_fee: str | Decimal,
    statement_emails: str,
    notice_emails: str,
    by: User,
    statement_schedule: str | None = None,
) -> list[str]:
    """Change an account's name, service fee and the addresses its statements and notices go to.
    Returns what changed (also written to the audit trail); nothing is changed when one input is refused."""
    name = _account_name(name)
    fee = _service_fee(service_fee, account.currency)
    if fee is None:
        raise AuthError("Enter the service fee (0 for none).", field="service_fee")
    notices = "\n".join(parse_email_list(notice_emails, field="notice_emails"))
    # Every input is checked before anything is changed; the statement delivery's last of the checks.
    delivery = apply_delivery(account, recipients=statement_emails, schedule=statement_schedule)
    changes = []
    if name != account.name:
        changes.append(f"name {account.name} → {name}")
        account.name = name
    if fee != account.service_fee:
        old = account.service_fee_money
        account.service_fee = fee
        changes.append(f"service fee {old} → {account.service_fee_money}")
    changes += delivery
    if notices != account.notice_emails:
        changes.append(f"notices to {', '.join(notices.split()) or '—'}")
        account.notice_emails = notices
    audit.record_account_changes(account, changes, by=by)
    return changes


def set_account_active(account: Account, active: bool, *, by: User | None = None) -> None:
    """Enable or disable a client account; disabling ends every session of its users."""
    account.active = active
    if not active:
        for user in account.users:
            user.end_sessions()
    kind = AuditKind.ACCOUNT_ENABLED if active else AuditKind.ACCOUNT_DISABLED
    audit.record(kind, actor=by, subject=None, account_id=account.id, detail=account.code)


# --- users --------------------------------------------------------------------------------------------


def role_and_account(role: str, account_code: str | None) -> Account | None:
    """The one rule for roles and accounts: an agency's people (agents and its agency admin) belong to
    exactly one client account, operations and admins (the host's staff) to none. Returns the account;
    refuses under `role`/`account`."""
    if role not in ROLES:
        raise AuthError(f"Role must be one of: {', '.join(ROLES)}.", field="role")
    code = (account_code or "").strip().upper()
    if role not in AGENCY_ROLES:
        if code:
            raise AuthError(
                "Operations and admin users belong to the host, not to a client account.", field="account"
            )
        return None
    if not code:
        raise AuthError("An agent must belong to a client account.", field="account")
    account = db.session.scalar(select(Account).where(Account.code == code))
    if account is None:
        raise AuthError(f"No client account with code {code}.", field="account")
    return account


def _user_name(name: str) -> str:
    if not name.strip():
        raise AuthError("Name is required.", field="name")
    return name.strip()


def create_user(
    email: str,
    name: str,
    role: str,
    password: str,
    account_code: str | None = None,
    *,
    by: User | None = None,
    temporary: bool = False,
) -> User:
    """A new user. `temporary`: the password was typed by an admin, and must be changed at first login
    (the CLI's PORTAL_NEW_PASSWORD and the demo set permanent ones)."""
    email = normalise_email(email)
    if not valid_email(email):
        raise AuthError("Enter a valid email address.", field="email")
    account = role_and_account(role, account_code)
    check_new_password(password, email, field="password")
    name = _user_name(name)
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise AuthError(f"A user with email {email} already exists.", field="email")
    user = User(
        email=email,
        name=name,
        role=role,
        account=account,
        password_hash=hash_password(password),
        must_change_password=temporary,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        AuditKind.USER_CREATED,
        actor=by,
        subject=user,
        detail=f"Role {user.role}" + (", temporary password" if temporary else ""),
    )
    return user


def update_user(
    user: User, *, name: str, role: str, account_code: str | None, active: bool, by: User
) -> None:
    """An admin changes a user's name, role, client account or status. A new role or account ends the
    user's sessions (what they may see changed); each change is in the audit trail."""
    name = _user_name(name)
    account = role_and_account(role, account_code)
    if user.id == by.id and role != user.role:
        raise AuthError("You cannot change your own role.", field="role")
    if user.id == by.id and not active:
        raise AuthError("You cannot disable yourself.", field="active")
    changes = []
    if name != user.name:
        changes.append(f"name {user.name} → {name}")
        user.name = name
    if account is not user.account:
        old = user.account.code if user.account else "—"
        changes.append(f"account {old} → {account.code if account else '—'}")
    if role != user.role:
        audit.record(AuditKind.ROLE_CHANGED, actor=by, subject=user, detail=f"{user.role} → {role}")
    if role != user.role or account is not user.account:
        user.role, user.account = role, account
        user.end_sessions()
        revoke_all_keys(user, by=by, why="the user's role or account changed")
    if changes:
        audit.record(AuditKind.USER_CHANGED, actor=by, subject=user, detail="; ".join(changes))
    if active != user.active:
        set_user_active(user, active, by)


def set_user_active(user: User, active: bool, by: User) -> None:
    """Enable or disable a user; disabling ends their sessions at once."""
    if user.id == by.id and not active:
        raise AuthError("You cannot disable yourself.", field="active")
    user.active = active
    if not active:
        user.end_sessions()
        spend_links(user)
    audit.record(AuditKind.USER_ENABLED if active else AuditKind.USER_DISABLED, actor=by, subject=user)
