"""API keys (one user's bearer credential for /api/v1) and the per-key, per-minute call counters."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.extensions import db
from portal.models.accounts import User
from portal.models.types import UTCDateTime


class ApiKey(db.Model):
    """A named key of one user: the key itself is shown once; only its SHA-256 is kept. It acts with its
    user's role and account, and stops at once when revoked or when the user is disabled."""

    __tablename__ = "api_key"
    __table_args__ = (Index("ix_api_key_user", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    name: Mapped[str] = mapped_column(String(80))
    # The first characters of the key ("ptk_AbCd…"), so a person can tell their keys apart.
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class ApiCallCounter(db.Model):
    """Calls made with one key in one minute, counted by a conditional UPDATE … RETURNING on a connection
    of its own (portal/services/api_keys.admit_call), so every worker shares the limit."""

    __tablename__ = "api_call_counter"

    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id", ondelete="CASCADE"), primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True, index=True)
    calls: Mapped[int] = mapped_column(default=0)


class IdempotentRequest(db.Model):
    """One user's call made with an `Idempotency-Key`: inserted first in the call's own transaction (the
    unique key is the lock: a racing replay waits on it, then reads the answer), and completed with the
    answer in the same transaction, so a replay gets exactly what the first call answered, or, when the
    first call failed and rolled back, runs anew. The answer is sealed (it may carry a webhook secret or
    passengers' names); `services/idempotency.py`."""

    __tablename__ = "idempotent_request"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotent_request_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the method, the path and the body: the same key with another call is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    status: Mapped[int | None] = mapped_column()
    content_type: Mapped[str | None] = mapped_column(String(100))
    body_sealed: Mapped[str | None] = mapped_column(Text)
