"""The tenant scope: whose objects an actor may see. Every list and every single-object lookup of an
agency's data goes through one of these, so another account's object is simply not found."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, bindparam

# The bound parameter a statement built once (`apply_bound`) takes its account from (`Scope.bind`).
SCOPE_ACCOUNT = "scope_account_id"


def apply_bound(stmt: Select, account_column, everything: bool) -> Select:
    """`stmt` limited to the account bound at each execution (`Scope.bind`), unless it serves a scope of
    every account: for statements built once and run on every request (values bound, not built in)."""
    return stmt if everything else stmt.where(account_column == bindparam(SCOPE_ACCOUNT))


@dataclass(frozen=True, slots=True)
class Scope:
    """One agency's objects (`account_id`), or every account's (`account_id` None: the host's staff)."""

    account_id: int | None

    @classmethod
    def of(cls, user) -> Scope:
        """The scope of a logged-in user: staff see every account, anyone else only their own."""
        if user.is_staff:
            return cls(None)
        if user.account_id is None:  # the database refuses such a user; never let one see everything
            raise ValueError(f"user {user.id} has no client account")
        return cls(user.account_id)

    @classmethod
    def everything(cls) -> Scope:
        return cls(None)

    @property
    def is_everything(self) -> bool:
        return self.account_id is None

    def bind(self, **params) -> dict:
        """The parameters of a statement built with `apply_bound(..., self.is_everything)`."""
        return params if self.account_id is None else {**params, SCOPE_ACCOUNT: self.account_id}

    def apply(self, stmt: Select, account_column) -> Select:
        """`stmt` limited to this scope's account (unchanged for every account)."""
        return stmt if self.account_id is None else stmt.where(account_column == self.account_id)

    def narrowed(self, account_id: int | None) -> Scope:
        """Staff narrowing to one account by a filter; an agency's scope never widens or moves."""
        if self.account_id is not None or account_id is None:
            return self
        return Scope(account_id)

    def admits(self, account_id: int | None) -> bool:
        return self.account_id is None or account_id == self.account_id
