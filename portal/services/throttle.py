"""The login throttle: counters per e-mail from one address, per e-mail and per address, counted
atomically before a password is checked.

This is the one place that commits outside the request's unit of work. A counter must be seen by every
worker the moment an attempt is let through, and must survive the refused login that the request rolls
back: so each count is a conditional UPDATE … RETURNING in a short transaction of its own, on a
connection of its own, committed before the password is checked. Forty parallel guesses then meet one
row that lets exactly the limit through, where a read-then-write let eight of forty pass a limit of five.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from portal.clock import utcnow
from portal.domain.passwords import ThrottleLimits, retry_in_minutes
from portal.extensions import db
from portal.models import LoginCounter
from portal.models.types import UTCDateTime


def limits() -> ThrottleLimits:
    """The configured limits (LOGIN_MAX_FAILURES per e-mail and address, and the higher ceilings)."""
    cfg = current_app.config
    return ThrottleLimits(
        per_pair=int(cfg["LOGIN_MAX_FAILURES"]),
        per_email=int(cfg["LOGIN_MAX_FAILURES_PER_EMAIL"]),
        per_address=int(cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
        window=timedelta(seconds=int(cfg["LOGIN_WINDOW_SECONDS"])),
    )


def _pair(email: str, ip: str) -> str:
    return f"pair:{email} {ip}"


def _keys(email: str, ip: str, rules: ThrottleLimits) -> list[tuple[str, int]]:
    # The pair first: an attacker at its limit is refused without spending the owner's ceiling.
    return [
        (_pair(email, ip), rules.per_pair),
        (f"email:{email}", rules.per_email),
        (f"address:{ip}", rules.per_address),
    ]


@dataclass(frozen=True)
class Admission:
    """Whether an attempt may go on to the password check; if not, in how many minutes to retry."""

    allowed: bool
    retry_in_minutes: int = 0


def _insert_ignore(conn, key: str, now: datetime):
    dialect = sqlite if conn.dialect.name == "sqlite" else postgresql
    conn.execute(
        dialect.insert(LoginCounter)
        .values(key=key, attempts=0, window_start=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )


def admit(email: str, ip: str, now: datetime) -> Admission:
    """Count one login attempt for this e-mail and address, before its password is checked.

    Refused (and not counted further) when the e-mail from this address, the e-mail from everywhere or the
    address for every e-mail has had its limit of attempts in the current window. Committed at once.
    """
    rules = limits()
    expired_before = now - rules.window
    at = literal(now, UTCDateTime())
    with db.engine.begin() as conn:  # its own connection and transaction, committed when the block ends
        for key, limit in _keys(email, ip[:64], rules):
            _insert_ignore(conn, key, now)
            restarts = LoginCounter.window_start <= expired_before
            counted = conn.execute(
                update(LoginCounter)
                .where(LoginCounter.key == key, or_(LoginCounter.attempts < limit, restarts))
                .values(
                    attempts=case((restarts, 1), else_=LoginCounter.attempts + 1),
                    window_start=case((restarts, at), else_=LoginCounter.window_start),
                )
                .returning(LoginCounter.attempts)
            ).first()
            if counted is None:
                started = conn.scalar(select(LoginCounter.window_start).where(LoginCounter.key == key))
                return Admission(False, retry_in_minutes(started, now, rules.window))
    return Admission(True)


def succeeded(email: str, ip: str) -> None:
    """The password was right: the owner's own address starts afresh, and the attempt does not count
    against the e-mail's ceiling or the address. In the caller's transaction: it commits with the login
    (only `admit` must be seen before the request ends)."""
    db.session.execute(
        delete(LoginCounter)
        .where(LoginCounter.key == _pair(email, ip[:64]))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(LoginCounter)
        .where(LoginCounter.key.in_([f"email:{email}", f"address:{ip[:64]}"]), LoginCounter.attempts > 0)
        .values(attempts=LoginCounter.attempts - 1)
        .execution_options(synchronize_session=False)
    )


def paused_message(minutes: int) -> str:
    """What a paused attempt is told (the login form words it the same way, with the reset link)."""
    return (
        f"Too many failed attempts. For your security, this is paused; try again in {minutes} "
        f"minute{'s' if minutes != 1 else ''}, or reset your password."
    )


def give_back(email: str, ip: str) -> None:
    """A further step of a login passed (the second factor): the attempt it counted is taken back from the
    e-mail and the address, so a login with a code costs the office's shared budget nothing more than one
    without. In the caller's transaction."""
    db.session.execute(
        update(LoginCounter)
        .where(LoginCounter.key.in_([f"email:{email}", f"address:{ip[:64]}"]), LoginCounter.attempts > 0)
        .values(attempts=LoginCounter.attempts - 1)
        .execution_options(synchronize_session=False)
    )


def forget_email(email: str) -> None:
    """Clear every counter of this e-mail (its owner proved control of the mailbox by a reset).
    In the caller's transaction."""
    db.session.execute(
        delete(LoginCounter)
        .where(
            or_(
                LoginCounter.key == f"email:{email}",
                LoginCounter.key.startswith(f"pair:{email} ", autoescape=True),
            )
        )
        .execution_options(synchronize_session=False)
    )


def sweep_counters(now: datetime | None = None) -> int:
    """Delete counters whose window has passed (they would count from zero anyway); how many."""
    cutoff = (now or utcnow()) - limits().window
    return db.session.execute(
        delete(LoginCounter)
        .where(LoginCounter.window_start <= cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount
