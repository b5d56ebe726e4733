"""Second factor (TOTP): enrolment, the code step of a login, recovery codes, turning it off and an
admin's reset. The rules (window, replay, recovery-code shape) are in portal/domain/mfa.py.

The TOTP secret is stored encrypted (Fernet: AES-128-CBC with HMAC-SHA256) under a key derived from the
portal's SECRET_KEY, so a copy of the database alone (a backup, a dump) cannot produce codes.
"""

from __future__ import annotations

from datetime import datetime

import pyotp
import segno
from flask import current_app
from sqlalchemy import or_, select, update

from portal.clock import utcnow
from portal.domain.audit import AuditKind
from portal.domain.errors import Conflict, DomainError
from portal.domain.mfa import (
    CODE_DIGITS,
    STEP_SECONDS,
    check_totp,
    is_totp_shape,
    must_enrol,
    new_recovery_codes,
    recovery_code_hash,
    time_step,
    unused_recovery_code,
)
from portal.extensions import db
from portal.models import RecoveryCode, SecondFactor, User
from portal.services import audit, throttle
from portal.services.auth import LoginPaused, record_failed_login
from portal.services.passwords import check_password
from portal.services.sealed import seal, unseal


class SecondFactorError(DomainError):
    """A code or password that does not do; the message is for the user."""


# --- the secret, encrypted at rest ------------------------------------------------------------------------


SEALED_FOR = b"portal/second-factor/totp-secret/v1"


def _encrypt(secret: str) -> str:
    return seal(SEALED_FOR, secret)


def _secret(factor: SecondFactor) -> str | None:
    """The factor's TOTP secret, or None when it cannot be read (SECRET_KEY changed since enrolment)."""
    return unseal(SEALED_FOR, factor.secret_encrypted)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=CODE_DIGITS, interval=STEP_SECONDS)


# --- reading --------------------------------------------------------------------------------------------


def second_factor_of(user: User) -> SecondFactor | None:
    """The user's second factor, confirmed or still being set up."""
    return db.session.scalar(select(SecondFactor).where(SecondFactor.user_id == user.id))


def is_enrolled(user: User) -> bool:
    """True when the user has a confirmed second factor (then every login asks for a code)."""
    return (
        db.session.scalar(
            select(SecondFactor.id).where(
                SecondFactor.user_id == user.id, SecondFactor.confirmed_at.is_not(None)
            )
        )
        is not None
    )


def enrolled_user_ids() -> set[int]:
    """The ids of every user with a confirmed second factor (the admins' Users page)."""
    return set(db.session.scalars(select(SecondFactor.user_id).where(SecondFactor.confirmed_at.is_not(None))))


def must_enrol_first(user: User) -> bool:
    """Whether this logged-in user may do nothing but set up a second factor (staff, when required)."""
    required = bool(current_app.config.get("REQUIRE_MFA_FOR_STAFF"))
    return must_enrol(
        is_staff=user.is_staff,
        required_for_staff=required,
        enrolled=not (required and user.is_staff) or is_enrolled(user),
    )


# --- enrolment ------------------------------------------------------------------------------------------


def start_enrolment(user: User, now: datetime | None = None) -> SecondFactor:
    """A new secret waiting for its first code; starting again replaces an unconfirmed one."""
    factor = second_factor_of(user)
    if factor is not None and factor.confirmed:
        raise Conflict("Two-step verification is already on.")
    if factor is None:
        factor = SecondFactor(user_id=user.id)
        db.session.add(factor)
    factor.secret_encrypted = _encrypt(pyotp.random_base32())
    factor.created_at = now or utcnow()
    factor.last_used_step = None
    db.session.flush()
    return factor


def enrolment_secret(user: User) -> str | None:
    """The secret of an enrolment not yet confirmed (shown to set up the app); never once confirmed."""
    factor = second_factor_of(user)
    if factor is None or factor.confirmed:
        return None
    return _secret(factor)


def enrolment_qr_svg(user: User, secret: str) -> str:
    """The otpauth:// URI of the secret as an inline SVG QR code (no script, no external image)."""
    issuer = f"{current_app.config['OPERATOR_NAME']} Portal"
    uri = _totp(secret).provisioning_uri(name=user.email, issuer_name=issuer)
    qr = segno.make(uri, error="m")
    return qr.svg_inline(
        scale=4, border=4, light="#fff", title="QR code of the key for your authenticator app"
    )


def confirm_enrolment(user: User, code: str, now: datetime | None = None) -> list[str]:
    """Turn the second factor on with a current code; returns the recovery codes, shown this once.

    Every other session of the user ends (the caller keeps this one).
    """
    now = now or utcnow()
    factor = second_factor_of(user)
    if factor is None:
        raise Conflict("Start setting up two-step verification first.")
    if factor.confirmed:
        raise Conflict("Two-step verification is already on.")
    secret = _secret(factor)
    if secret is None:
        raise Conflict("The setup expired. Start setting up two-step verification again.")
    check = check_totp(code, time_step(now), None, _totp(secret).generate_otp)
    if not check.ok:
        raise SecondFactorError(
            "That code is not right. Type the 6-digit code your authenticator app shows now.", field="code"
        )
    factor.confirmed_at = now
    factor.last_used_step = check.step
    codes = _replace_recovery_codes(factor)
    user.end_sessions()
    audit.record(AuditKind.MFA_ENABLED, actor=user, detail="Authenticator app", now=now)
    db.session.flush()
    return codes


def _replace_recovery_codes(factor: SecondFactor) -> list[str]:
    codes = new_recovery_codes()
    factor.recovery_codes = [RecoveryCode(code_hash=recovery_code_hash(code)) for code in codes]
    return codes


# --- using a code ---------------------------------------------------------------------------------------


def _claim_step(factor: SecondFactor, step: int) -> bool:
    """Record `step` as used unless a later or the same step was used meanwhile (a conditional UPDATE:
    two requests with the same code at once, only one gets through)."""
    claimed = db.session.execute(
        update(SecondFactor)
        .where(
            SecondFactor.id == factor.id,
            or_(SecondFactor.last_used_step.is_(None), SecondFactor.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed:
        factor.last_used_step = step
        db.session.flush()
    return claimed == 1


def _claim_recovery_code(code: RecoveryCode, now: datetime) -> bool:
    used = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == code.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used:
        code.used_at = now
        db.session.flush()
    return used == 1


def _use_code(user: User, factor: SecondFactor, typed: str, now: datetime, ip: str | None) -> str | None:
    """Accept a current TOTP code or an unused recovery code (using it up). None when accepted, else
    what went wrong, for the audit trail; raises for a secret that can no longer be read."""
    if is_totp_shape(typed):
        secret = _secret(factor)
        if secret is None:
            raise SecondFactorError(
                "Your authenticator app's key can no longer be read (the portal's secret key changed). "
                "Use one of your recovery codes, or ask an administrator to reset your two-step "
                "verification.",
                field="code",
            )
        check = check_totp(typed, time_step(now), factor.last_used_step, _totp(secret).generate_otp)
        if check.ok and _claim_step(factor, check.step):
            return None
        return "second-factor code already used" if check.ok or check.replayed else "wrong second-factor code"
    stored = unused_recovery_code(typed, factor.recovery_codes)
    if stored is not None and _claim_recovery_code(stored, now):
        left = factor.recovery_codes_left
        audit.record(
            AuditKind.RECOVERY_CODE_USED,
            actor=user,
            ip=ip,
            detail=f"{left} recovery code{'s' if left != 1 else ''} left",
            now=now,
        )
        return None
    return "wrong or used recovery code"


def _refusal(problem: str) -> SecondFactorError:
    if problem == "second-factor code already used":
        message = "That code was already used. Wait for the next code in your authenticator app."
    elif problem == "wrong or used recovery code":
        message = "That recovery code is not right, or it was already used."
    else:
        message = (
            "That code is not right. Type the 6-digit code your authenticator app shows now, or one of "
            "your recovery codes."
        )
    return SecondFactorError(message, field="code")


def verify_login(user: User, typed: str, ip: str, now: datetime | None = None) -> None:
    """The second step of a login: a current code (each time step once) or an unused recovery code.

    A wrong code is a failed login: it is recorded like a wrong password and counts towards the same
    throttle, which is checked first. Raises SecondFactorError; the caller keeps the failure's record.
    """
    now = now or utcnow()
    # Counted before the code is checked, in every worker at once, exactly as a password is.
    admission = throttle.admit(user.email, ip, now)
    if not admission.allowed:
        record_failed_login(user.email, ip, user=user, detail="Refused: logins paused", now=now)
        raise SecondFactorError(str(LoginPaused(admission.retry_in_minutes)), field="code")
    factor = second_factor_of(user)
    if factor is None or not factor.confirmed:
        raise Conflict("Two-step verification was turned off meanwhile. Log in again.")
    problem = _use_code(user, factor, typed, now, ip)
    if problem is not None:
        record_failed_login(user.email, ip, user=user, detail=problem, now=now)
        raise _refusal(problem)
    throttle.give_back(user.email, ip)  # the code's own attempt; complete_login takes the password's


# --- turning it off -------------------------------------------------------------------------------------


def disable(user: User, password: str, code: str, now: datetime | None = None, ip: str | None = None) -> None:
    """The user turns their second factor off, with their password and a current (or recovery) code.
    Every other session of the user ends."""
    now = now or utcnow()
    factor = second_factor_of(user)
    if factor is None or not factor.confirmed:
        raise Conflict("Two-step verification is not on.")
    # Guesses here are login guesses (a stolen session must not try passwords without end): counted by the
    # same throttle, before anything is checked, and taken back only when the password and code are right.
    admission = throttle.admit(user.email, ip or "unknown", now)
    if not admission.allowed:
        raise SecondFactorError(str(LoginPaused(admission.retry_in_minutes)), field="password")
    if not check_password(user, password or ""):
        raise SecondFactorError("That password is not right.", field="password")
    problem = _use_code(user, factor, code or "", now, ip)
    if problem is not None:
        raise _refusal(problem)
    throttle.succeeded(user.email, ip or "unknown")
    db.session.delete(factor)
    user.end_sessions()
    audit.record(AuditKind.MFA_DISABLED, actor=user, ip=ip, detail="Turned off by the user", now=now)
    db.session.flush()


def reset(user: User, by: User, ip: str | None = None, now: datetime | None = None) -> None:
    """An admin removes a user's second factor (a lost phone): the user sets it up again at their next
    login, where it is required, and every session of theirs ends."""
    if user.id == by.id:
        raise SecondFactorError(
            "You cannot reset your own two-step verification here; turn it off on your Two-step "
            "verification page."
        )
    factor = second_factor_of(user)
    if factor is None or not factor.confirmed:
        raise Conflict(f"{user.email} has no two-step verification to reset.")
    db.session.delete(factor)
    user.end_sessions()
    audit.record(
        AuditKind.MFA_DISABLED,
        actor=by,
        subject=user,
        ip=ip,
        detail="Reset by an administrator; the user must set it up again",
        now=now,
    )
    db.session.flush()
