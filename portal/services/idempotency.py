"""Idempotent API calls (API.md, "Idempotency"): the same `Idempotency-Key` with the same call answers
what the first call answered, for at least 24 hours, also when the two race; with another call it is
refused.

The database decides, not a read-then-write: the call's first write, in its own transaction, is a row
under a unique (user, key). A replay racing the first call waits on that index (PostgreSQL) or on the
write lock (SQLite) until the first call commits, then finds the row with the first answer, which is
written in the same transaction as the call's effects; when the first call failed and rolled back, the
row went with it and the replay runs as a new call. Only successful answers are kept: a refused call
changed nothing, so trying it again is safe, and after the cause is fixed it may succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError, OperationalError

from portal.clock import utcnow
from portal.domain.errors import Conflict, DomainError
from portal.extensions import db
from portal.models import IdempotentRequest, User
from portal.services.sealed import seal, unseal

RETENTION = timedelta(hours=24)
MAX_KEY = 255
SEALED_FOR = b"portal/api/idempotent-answer/v1"
HEADER = "Idempotency-Key"


class KeyReused(DomainError):
    def __init__(self):
        super().__init__(
            "This Idempotency-Key was already used with another call (method, path or body). "
            "Use a new key for a new call.",
            field=HEADER,
        )


class StillRunning(Conflict):
    def __init__(self):
        super().__init__(
            "A call with this Idempotency-Key is still being processed. Send it again in a moment: "
            "you will get its answer.",
            field=HEADER,
        )


@dataclass(frozen=True)
class Answer:
    """The first call's answer, to be given again."""

    status: int
    content_type: str
    body: str


def reserve(
    user: User, key: str, fingerprint: str, now: datetime | None = None
) -> IdempotentRequest | Answer:
    """Claim `key` for this call (the row to complete with its answer), or the first call's Answer.

    Raises KeyReused when the key was used for another call, StillRunning when the first call has not
    finished within the database's lock wait."""
    row = IdempotentRequest(user_id=user.id, key=key, fingerprint=fingerprint, created_at=now or utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        pass
    except OperationalError as exc:  # SQLite: the first call held the write lock past the busy timeout
        raise StillRunning() from exc
    else:
        return row
    first = db.session.scalar(
        select(IdempotentRequest).where(IdempotentRequest.user_id == user.id, IdempotentRequest.key == key)
    )
    if first is None or first.status is None:
        raise StillRunning()
    if first.fingerprint != fingerprint:
        raise KeyReused()
    body = unseal(SEALED_FOR, first.body_sealed or "")
    if body is None:
        raise StillRunning()
    return Answer(first.status, first.content_type or "application/json", body)


def complete(row: IdempotentRequest, *, status: int, content_type: str, body: str) -> None:
    """Keep the call's answer with its key, in the call's transaction."""
    row.status = status
    row.content_type = content_type[:100]
    row.body_sealed = seal(SEALED_FOR, body)
    db.session.flush()


def forget_answers(user: User) -> int:
    """Forget every answer kept for `user` (their role or account changed): a replay must not show them
    what their old account or role was answered. How many."""
    result = db.session.execute(
        delete(IdempotentRequest)
        .where(IdempotentRequest.user_id == user.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


def sweep_idempotent_requests(now: datetime | None = None) -> int:
    """Forget keys older than the retention (the job runner's `sweep-idempotency-keys`)."""
    cutoff = (now or utcnow()) - RETENTION
    result = db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff))
    return result.rowcount or 0
