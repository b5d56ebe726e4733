"""Second factors: a user's TOTP secret (encrypted) and their recovery codes (hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.extensions import db
from portal.models.accounts import User
from portal.models.types import UTCDateTime


class SecondFactor(db.Model):
    """A user's authenticator app: at most one per user; confirmed once a code from it was typed.

    The secret is kept encrypted with a key derived from the portal's secret key (services/mfa.py) and
    is shown only while enrolment is unconfirmed.
    """

    __tablename__ = "second_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None while enrolment waits for its first code: such a factor is not yet asked at login.
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last TOTP time step accepted: no code of this step or an earlier one is accepted again.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)

    user: Mapped[User] = relationship()
    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="second_factor", cascade="all, delete-orphan", order_by="RecoveryCode.id"
    )

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None

    @property
    def recovery_codes_left(self) -> int:
        return sum(1 for code in self.recovery_codes if code.used_at is None)


class RecoveryCode(db.Model):
    """One single-use recovery code, stored as the SHA-256 of the code shown to the user once."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("second_factor_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    second_factor_id: Mapped[int] = mapped_column(ForeignKey("second_factor.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    second_factor: Mapped[SecondFactor] = relationship(back_populates="recovery_codes")
