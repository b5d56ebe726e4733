"""The rule every new password meets (change, reset, one an admin types, the CLI's), and the login
throttle's arithmetic. Pure: the list of common passwords is handed in by the caller."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

MIN_PASSWORD_LENGTH = 10
# Long enough for any passphrase or password manager; short enough that hashing stays cheap.
MAX_PASSWORD_LENGTH = 128


def password_refusal(password: str, *, email: str, common: Collection[str]) -> str | None:
    """Why `password` may not be used by the user with `email` (None: it may).

    At least MIN_PASSWORD_LENGTH and at most MAX_PASSWORD_LENGTH characters; not the e-mail address nor
    its part before the @ (in any case); not in `common`, the lower-case list of common passwords.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"The password must have at least {MIN_PASSWORD_LENGTH} characters."
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"The password can have at most {MAX_PASSWORD_LENGTH} characters."
    folded = password.strip().casefold()
    address = email.strip().casefold()
    if address and folded in {address, address.partition("@")[0]}:
        return "The password cannot be the e-mail address or the part of it before the @."
    if folded in common:
        return "This password is on a list of common passwords; choose one that is harder to guess."
    return None


# --- login throttle ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ThrottleLimits:
    """How many login attempts may reach the password check within one window.

    `per_pair` counts one e-mail from one address: the limit an attacker meets. `per_email` is the much
    higher ceiling for one e-mail from everywhere (so an attacker cannot lock its owner out from one
    address, and a botnet still cannot guess at leisure). `per_address` is one address for every e-mail.
    """

    per_pair: int = 5
    per_email: int = 50
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)


def retry_in_minutes(window_start: datetime, now: datetime, window: timedelta) -> int:
    """Whole minutes (at least 1) until a counter that reached its limit opens again."""
    seconds = (window_start + window - now).total_seconds()
    return max(1, int(seconds // 60) + (1 if seconds % 60 else 0))
