"""Client accounts, users, password-reset links and the login throttle's counters."""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.money import Money
from portal.domain.statement_mail import SCHEDULE_LABELS, Schedule
from portal.extensions import db
from portal.models.types import Amount, UTCDateTime, currency_check

ROLES = ("agent", "agency_admin", "operations", "admin")
# An agency's own people: they see only their account. The agency admin also runs its account's users.
AGENCY_ROLES = ("agent", "agency_admin")
_ROLE_LIST = ", ".join(f"'{r}'" for r in ROLES)
_AGENCY_LIST = ", ".join(f"'{r}'" for r in AGENCY_ROLES)


class Account(db.Model):
    """A client agency: the unit of tenant isolation."""

    __tablename__ = "account"
    __table_args__ = (
        currency_check(),
        CheckConstraint("service_fee >= 0", name="service_fee_not_negative"),
        CheckConstraint(
            "statement_schedule IN ('off', 'daily', 'weekly', 'monthly')", name="statement_schedule_known"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3))
    # Charged per refunded passenger on operator refunds (SPEC 3.3); involuntary refunds are free.
    service_fee: Mapped[Decimal] = mapped_column(Amount, default=Decimal("0.00"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Where the agency wants its statements and its notices sent: addresses, one per line (validated by
    # portal.domain.accounts.parse_email_list); empty when none were given.
    statement_emails: Mapped[str] = mapped_column(Text, default="", server_default="")
    notice_emails: Mapped[str] = mapped_column(Text, default="", server_default="")
    # How often the statement is e-mailed to statement_emails (portal.domain.statement_mail.Schedule).
    statement_schedule: Mapped[str] = mapped_column(String(10), default="off", server_default="off")

    users: Mapped[list[User]] = relationship(back_populates="account")

    @property
    def statement_addresses(self) -> list[str]:
        """The addresses statements go to."""
        return self.statement_emails.split()

    @property
    def statement_schedule_label(self) -> str:
        """How often statements are e-mailed, in words."""
        return SCHEDULE_LABELS[Schedule(self.statement_schedule)]

    @property
    def notice_addresses(self) -> list[str]:
        """The addresses notices go to."""
        return self.notice_emails.split()

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
        CheckConstraint(f"role in ({_ROLE_LIST})", name="role_known"),
        CheckConstraint(f"role NOT IN ({_AGENCY_LIST}) OR account_id IS NOT NULL", name="agent_has_account"),
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
    # A password an admin typed is temporary: the user must choose their own before anything else.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())

    account: Mapped[Account | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login: disabled users cannot hold a session
        return self.active and (self.account is None or self.account.active)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_agent(self) -> bool:
        """One of an agency's people (an agent or the agency's admin): sees and does what agents do."""
        return self.role in AGENCY_ROLES

    @property
    def is_agency_admin(self) -> bool:
        """An agency's own administrator: also runs the users of its own account (never another's)."""
        return self.role == "agency_admin"

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


class PasswordReset(db.Model):
    """A password-reset link sent by e-mail: only the SHA-256 of its token is kept; used once, within
    an hour (portal/services/passwords.py)."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginCounter(db.Model):
    """Login attempts that reached (or are about to reach) the password check within the current window,
    for one key: an e-mail from one address, an e-mail, or an address. Incremented atomically before the
    password is checked (portal/services/throttle.py), so every worker sees every attempt at once."""

    __tablename__ = "login_counter"

    # "pair:<email> <address>", "email:<email>" or "address:<address>"
    key: Mapped[str] = mapped_column(String(340), primary_key=True)
    attempts: Mapped[int] = mapped_column(default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
