"""Client accounts, users and the login-attempt log used for throttling."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.money import Money
from portal.extensions import db
from portal.models.types import Amount, UTCDateTime, currency_check

ROLES = ("agent", "operations", "admin")


class Account(db.Model):
    """A client agency: the unit of tenant isolation."""

    __tablename__ = "account"
    __table_args__ = (
        currency_check(),
        CheckConstraint("service_fee >= 0", name="service_fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    # Charged per refunded passenger on operator refunds (SPEC 3.3); involuntary refunds are free.
    service_fee: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="account")

    @property
    def service_fee_money(self) -> Money:
        """The per-passenger service fee on operator refunds, in the account's currency."""
        return Money(self.service_fee, self.currency)

    def __repr__(self) -> str:
        return f"<Account {self.code}>"


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(UserMixin, db.Model):
    """A person who logs in: an agency's agent, or the host's operations or admin staff."""

    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint("role in ('agent', 'operations', 'admin')", name="role_known"),
        CheckConstraint("role != 'agent' OR account_id IS NOT NULL", name="agent_has_account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the login session's identity: changing it ends every session of this user.
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    account: Mapped[Account | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled users cannot hold a session
        return self.active and (self.account is None or self.account.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_agent(self) -> bool:
        return self.role == "agent"

    @property
    def is_staff(self) -> bool:
        """Operations or admin: the host's own people, who see every account."""
        return self.role in ("operations", "admin")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def end_sessions(self) -> None:
        """Invalidate every existing session of this user (logout, disable, password change)."""
        self.session_token = new_session_token()

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class LoginAttempt(db.Model):
    """One login attempt; failures within a window throttle further attempts across all workers."""

    __tablename__ = "login_attempt"
    __table_args__ = (
        Index("ix_login_attempt_email_time", "email", "attempted_at"),
        Index("ix_login_attempt_ip_time", "ip", "attempted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    ip: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    succeeded: Mapped[bool] = mapped_column(default=False)
