"""Reading client accounts and users for the staff pages (their changes are in services.auth)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from portal.extensions import db, read
from portal.models import Account, User


def all_accounts() -> list[Account]:
    """Every client account, by code."""
    return list(db.session.scalars(select(Account).order_by(Account.code)))


_ACCOUNT_NAMES = select(Account.id, Account.code, Account.name).order_by(Account.code)


def account_names() -> list[tuple[int, str, str]]:
    """Every client account's (id, code, name), by code: the staff filters' choices, as plain rows."""
    return [tuple(row) for row in read(_ACCOUNT_NAMES)]


def get_account(account_id: int | None) -> Account | None:
    """The account with this id, or None."""
    return db.session.get(Account, account_id) if account_id is not None else None


def all_users() -> list[User]:
    """Every user with their account, grouped by role."""
    return list(
        db.session.scalars(select(User).options(selectinload(User.account)).order_by(User.role, User.email))
    )


def count_active_users() -> int:
    """How many users may log in (Admin → Users lists them all): one query."""
    return db.session.scalar(select(func.count()).select_from(User).where(User.active.is_(True)))


def get_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)
