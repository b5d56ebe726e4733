"""API keys: created on the user's own page or by `flask create-api-key`, stored as a SHA-256 hash, looked
up on every API call (so a revoked key or a disabled user stops at once, in every worker), and the per-key
rate limit shared by every worker.

Like the login throttle, the call count is the one write an API call makes outside its unit of work: a
conditional UPDATE … RETURNING on a connection of its own, committed before the call runs, so a refused or
failed call still counts and every worker sees the count at once.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from portal.clock import utcnow
from portal.domain.accounts import normalise_email
from portal.domain.audit import AuditKind
from portal.domain.errors import Conflict, DomainError, NotPermitted
from portal.extensions import db
from portal.models import ApiCallCounter, ApiKey, User
from portal.models.types import UTCDateTime
from portal.services.audit import record
from portal.services.idempotency import forget_answers
from portal.services.transitions import claim

KEY_PREFIX = "ptk_"
KEY_BYTES = 32  # of entropy, after the prefix
SHOWN_PREFIX = 12  # characters kept in clear to tell keys apart: "ptk_" and 8 of the random part
MAX_NAME = 80
MAX_KEY_LENGTH = 100  # anything longer is not one of ours: refused before it is hashed
LAST_USED_EVERY = timedelta(minutes=1)


def key_hash(secret: str) -> str:
    """The SHA-256 the database keeps of a key (the key itself is never stored)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(user: User, name: str, *, by: User, now: datetime | None = None) -> tuple[ApiKey, str]:
    """A new key for `user` (by themself, or by an operator at the command line), named `name`.

    Returns the key row and the key itself, which is shown once and never again."""
    name = (name or "").strip()
    if not name:
        raise DomainError("Give the key a name.", field="name")
    if len(name) > MAX_NAME:
        raise DomainError(f"The name has at most {MAX_NAME} characters.", field="name")
    if not user.is_active:
        raise DomainError("The user is disabled: a key would not work.", field="name")
    if not user.is_agent:
        # API.md: keys are for an agency's own systems; the host's staff have none in v1 (a bearer key
        # seeing every account, without a second factor, would be the portal's most dangerous secret).
        raise NotPermitted("API keys are for an agency's people; the host's staff do not need one.")
    secret = KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)
    key = ApiKey(
        user=user,
        name=name,
        prefix=secret[:SHOWN_PREFIX],
        key_hash=key_hash(secret),
        created_at=now or utcnow(),
    )
    db.session.add(key)
    db.session.flush()
    record(
        AuditKind.API_KEY_CREATED,
        actor=by,
        subject=user,
        detail=f"{name} ({key.prefix}…)",
        now=key.created_at,
    )
    return key, secret


def user_keys(user: User) -> list[ApiKey]:
    """The user's own keys, live and revoked, newest first."""
    return list(
        db.session.scalars(
            select(ApiKey)
            .where(ApiKey.user_id == user.id)
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def account_keys(by: User) -> list[ApiKey]:
    """For an agency admin: the keys of the other users of its own account (never another account's)."""
    if not by.is_agency_admin:
        return []
    return list(
        db.session.scalars(
            select(ApiKey)
            .join(User, User.id == ApiKey.user_id)
            .where(User.account_id == by.account_id, User.id != by.id)
            .options(joinedload(ApiKey.user))
            .order_by(User.email, ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def load_key(key_id: int, by: User) -> ApiKey | None:
    """A key `by` may revoke: their own, or (an agency admin) one of their account's users'. Another's is
    None, as an unknown one is."""
    stmt = select(ApiKey).join(User, User.id == ApiKey.user_id).where(ApiKey.id == key_id)
    if by.is_agency_admin:
        stmt = stmt.where(or_(User.id == by.id, User.account_id == by.account_id))
    else:
        stmt = stmt.where(User.id == by.id)
    return db.session.scalar(stmt)


def revoke_all_keys(user: User, *, by: User | None, why: str, now: datetime | None = None) -> int:
    """Revoke every live key of a user whose role or account changes (a key must not follow its user
    into another tenant or role, nor must the answers kept for their Idempotency-Keys). How many were
    revoked; each is in the audit trail."""
    now = now or utcnow()
    forget_answers(user)
    live = db.session.scalars(
        select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
    ).all()
    revoked = 0
    for key in live:
        if claim(key, expected={"revoked_at": None}, values={"revoked_at": now}):
            record(
                AuditKind.API_KEY_REVOKED,
                actor=by,
                subject=user,
                detail=f"{key.name} ({key.prefix}…): {why}",
                now=now,
            )
            revoked += 1
    return revoked


def revoke_api_key(key: ApiKey, *, by: User, now: datetime | None = None) -> None:
    """Revoke a key: the next call with it is a 401, in every worker (keys are looked up per call)."""
    now = now or utcnow()
    if not claim(key, expected={"revoked_at": None}, values={"revoked_at": now}):
        raise Conflict("This key was already revoked.")
    record(
        AuditKind.API_KEY_REVOKED, actor=by, subject=key.user, detail=f"{key.name} ({key.prefix}…)", now=now
    )


def authenticate_key(secret: str | None) -> ApiKey | None:
    """The live key a bearer token names, with its user; None for a missing, unknown or revoked key, or a
    disabled user or account."""
    if not secret or not secret.startswith(KEY_PREFIX) or len(secret) > MAX_KEY_LENGTH:
        return None
    key = db.session.scalar(
        select(ApiKey)
        .where(ApiKey.key_hash == key_hash(secret), ApiKey.revoked_at.is_(None))
        .options(joinedload(ApiKey.user).joinedload(User.account))
    )
    if key is None or not key.user.is_active:
        return None
    return key


@dataclass(frozen=True)
class CallAdmission:
    """Whether a call may run; if not, in how many seconds the next minute starts."""

    allowed: bool
    retry_after: int = 0


def rate_limit() -> int:
    """Calls a minute per key (PORTAL_API_RATE_LIMIT, default 600)."""
    return int(current_app.config["API_RATE_LIMIT"])


LEASE_MAX = 20  # calls a worker may take at once from a key's count


def lease_size(limit: int) -> int:
    """How many calls a worker takes from the shared count at once: a sixtieth of the limit (10 of 600),
    at least 1 and at most LEASE_MAX, so small limits stay exact and large ones cost few writes."""
    return max(1, min(LEASE_MAX, limit // 60))


@dataclass
class _Lease:
    minute: datetime
    left: int


def _leases() -> dict[str, _Lease]:
    """This worker's leases, per key (by its hash: a row id can be reused, a key cannot)."""
    return current_app.extensions.setdefault("api_call_leases", {})


def _last_noted() -> dict[str, datetime]:
    return current_app.extensions.setdefault("api_key_last_noted", {})


def admit_call(key: ApiKey, now: datetime | None = None) -> CallAdmission:
    """Count one call of this key in the current minute, and note when the key was last used (at most
    once a minute).

    The count is shared by every worker in the database, on a connection of its own, committed at once;
    to spare a write per call, a worker takes a lease of lease_size() calls at a time from the count and
    spends it locally within that minute. The calls admitted across workers never exceed the limit (a
    worker may hold a few leased calls unspent while another is refused, so a little fewer may pass)."""
    now = now or utcnow()
    minute = now.replace(second=0, microsecond=0)
    limit = rate_limit()
    leases, noted = _leases(), _last_noted()
    lease = leases.get(key.key_hash)
    admitted = lease is not None and lease.minute == minute and lease.left > 0
    if admitted:
        lease.left -= 1
    last = noted.get(key.key_hash)
    note_use = last is None or now - last >= LAST_USED_EVERY
    if admitted and not note_use:
        return CallAdmission(True)
    dialect = sqlite if db.engine.dialect.name == "sqlite" else postgresql
    with db.engine.begin() as conn:
        if not admitted:
            size = lease_size(limit)
            conn.execute(
                dialect.insert(ApiCallCounter)
                .values(api_key_id=key.id, minute=minute, calls=0)
                .on_conflict_do_nothing(index_elements=["api_key_id", "minute"])
            )
            counted = conn.execute(
                update(ApiCallCounter)
                .where(
                    ApiCallCounter.api_key_id == key.id,
                    ApiCallCounter.minute == literal(minute, UTCDateTime()),
                    ApiCallCounter.calls < limit,
                )
                .values(calls=ApiCallCounter.calls + size)
                .returning(ApiCallCounter.calls)
            ).scalar()
            if counted is not None:
                granted = size - max(0, counted - limit)  # at least 1: the count was below the limit
                leases[key.key_hash] = _Lease(minute, granted - 1)
                admitted = True
        if note_use:
            conn.execute(
                update(ApiKey)
                .where(
                    ApiKey.id == key.id,
                    or_(
                        ApiKey.last_used_at.is_(None),
                        ApiKey.last_used_at <= literal(now - LAST_USED_EVERY, UTCDateTime()),
                    ),
                )
                .values(last_used_at=literal(now, UTCDateTime()))
            )
            noted[key.key_hash] = now
    if not admitted:
        return CallAdmission(False, max(1, 60 - now.second))
    return CallAdmission(True)


def sweep_call_counters(now: datetime | None = None) -> int:
    """Delete the counters of minutes that have passed; how many."""
    cutoff = (now or utcnow()).replace(second=0, microsecond=0) - timedelta(minutes=1)
    return db.session.execute(
        delete(ApiCallCounter)
        .where(ApiCallCounter.minute < cutoff)
        .execution_options(synchronize_session=False)
    ).rowcount


def find_user(email: str) -> User | None:
    """The user with this e-mail address (the command line names users by it)."""
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))
