"""The second factor's rules: time steps, which step a typed code may match (±1 step, never a step
already used), recovery codes (their shape, their hash), and who must have a second factor.

Pure: the code of a step is asked of a function the caller passes (services/mfa.py hands it pyotp's).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

STEP_SECONDS = 30  # RFC 6238's default, what every authenticator app uses
CODE_DIGITS = 6
# A code of the step before or after now is accepted too: phone clocks drift and people type slowly.
WINDOW_STEPS = 1
RECOVERY_CODE_COUNT = 10
# 12 characters of 31 (about 59 bits): unguessable, so a plain SHA-256 keeps them safe at rest. No 0, 1,
# i, l or o, which read alike.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_CODE_LENGTH = 12
# How long the second step of a login may wait for its code after the password was right.
PENDING_LOGIN_SECONDS = 5 * 60


def time_step(now: datetime) -> int:
    """The TOTP time step `now` falls in (aware datetime)."""
    return int(now.timestamp()) // STEP_SECONDS


def normalise_code(typed: str | None) -> str:
    """What the user typed, without spaces and hyphens, lower case (codes are shown grouped)."""
    return "".join((typed or "").split()).replace("-", "").lower()


def is_totp_shape(typed: str) -> bool:
    """Six digits: a code from the authenticator app (a recovery code never looks like one)."""
    code = normalise_code(typed)
    return len(code) == CODE_DIGITS and code.isascii() and code.isdigit()


@dataclass(frozen=True)
class CodeCheck:
    """The result of checking a typed TOTP code: the step it matched, or why not."""

    step: int | None = None
    replayed: bool = False  # it was right, but for a step already used

    @property
    def ok(self) -> bool:
        return self.step is not None


def check_totp(
    typed: str, now_step: int, last_used_step: int | None, code_at: Callable[[int], str]
) -> CodeCheck:
    """Match `typed` against the codes of now's step and the steps ±WINDOW_STEPS around it.

    A step at or before `last_used_step` is never accepted again: a code seen over a shoulder or in a
    proxy log cannot be replayed while it is still valid, and a later code cannot be followed by an
    earlier one.
    """
    if not is_totp_shape(typed):
        return CodeCheck()
    code = normalise_code(typed)
    replayed = False
    for step in range(now_step - WINDOW_STEPS, now_step + WINDOW_STEPS + 1):
        if hmac.compare_digest(code_at(step), code):
            if last_used_step is not None and step <= last_used_step:
                replayed = True
                continue
            return CodeCheck(step=step)
    return CodeCheck(replayed=replayed)


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh recovery codes, shown once, grouped for reading: "k7qm-2xfp-9dre"."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)))
    return codes


def recovery_code_hash(code: str) -> str:
    """What is stored of a recovery code: the SHA-256 of its normalised form (hex)."""
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


class StoredRecoveryCode(Protocol):
    code_hash: str
    used_at: datetime | None


C = TypeVar("C", bound=StoredRecoveryCode)


def unused_recovery_code(typed: str, codes: Iterable[C]) -> C | None:
    """The stored, still unused recovery code `typed` is, if any (a used one is never accepted again)."""
    code = normalise_code(typed)
    if len(code) != RECOVERY_CODE_LENGTH:
        return None
    wanted = recovery_code_hash(code)
    match = None
    for stored in codes:
        if hmac.compare_digest(stored.code_hash, wanted) and stored.used_at is None:
            match = stored
    return match


def must_enrol(*, is_staff: bool, enrolled: bool, required_for_staff: bool) -> bool:
    """Whether a logged-in user may do nothing but set up a second factor: operations and admins
    without one, when the installation requires it (PORTAL_REQUIRE_MFA_FOR_STAFF=1)."""
    return required_for_staff and is_staff and not enrolled
