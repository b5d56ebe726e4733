"""One page of a list, and the count cap that keeps large lists cheap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from portal.extensions import db

COUNT_CAP = 10_000


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    # True when the count stopped at a cap: there are at least `total` rows ("10,000+").
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self) -> int:
        return min(self.total, self.page * self.per_page)


def count(stmt: Select, cap: int | None = None) -> tuple[int, bool]:
    """How many rows `stmt` selects, stopping at `cap` when given: (total, more than the cap)."""
    if cap is None:
        return db.session.scalar(select(func.count()).select_from(stmt.subquery())), False
    counted = db.session.scalar(select(func.count()).select_from(stmt.limit(cap + 1).subquery()))
    return min(counted, cap), counted > cap


def clamp(page: int, total: int, per_page: int) -> int:
    """The asked page number, kept within the pages there are."""
    return max(1, min(page, max(1, -(-total // per_page))))


@dataclass
class Slice:
    """One page of a list read after a position (the API's cursor pagination): the rows, and the position
    after the last of them when more follow (else None)."""

    items: list
    next_after: tuple[datetime, int] | None
