"""One page of a list, the count cap that keeps large lists cheap, and the sort orders a list offers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, select

from portal.extensions import db

COUNT_CAP = 10_000
# The lists people page through all day count no further than this: "Showing 1–25 of 1,000+".
LIST_COUNT_CAP = 1_000


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int
    # True when the count stopped at a cap: there are at least `total` rows ("10,000+").
    more: bool = False
    # Whether a row follows this page, when the list looked (a probe of one row past the page): then
    # Next is offered also past the capped count.
    probed_next: bool | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        if self.probed_next is not None:
            return self.probed_next
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


def probed_page(
    rows: Callable[[int, int], list],
    count_stmt: Select | Callable[[int], tuple[int, bool]],
    page: int,
    per_page: int,
    cap: int = LIST_COUNT_CAP,
    complete: Callable[[list], list] | None = None,
) -> Page:
    """One page read with a probe of one row past it, `rows(offset, limit)` giving the rows and
    `complete(rows)` (when given) what the page shows of them, for the page's own rows only.

    A list whose end is on this page needs no count at all (the rows tell how many there are); a longer
    one is counted only up to `cap` ("1,000+"). A page past the end shows the last page. `count_stmt` is
    the statement counted, or a function of the cap that counts (total, more than the cap).
    """
    counter = count_stmt if callable(count_stmt) else lambda cap: count(count_stmt, cap=cap)
    offset = (page - 1) * per_page
    items = rows(offset, per_page + 1)
    if not items and page > 1:
        total, _ = counter(cap)
        page = clamp(page, total, per_page)
        offset = (page - 1) * per_page
        items = rows(offset, per_page + 1)
    following = len(items) > per_page
    items = items[:per_page]
    if complete is not None:
        items = complete(items)
    if not following:
        return Page(items=items, total=offset + len(items), page=page, per_page=per_page, probed_next=False)
    counted, more = counter(cap)
    total = max(counted, offset + per_page + 1)
    return Page(
        items=items, total=total, page=page, per_page=per_page, more=more or total > counted, probed_next=True
    )


@dataclass(frozen=True)
class Sort:
    """How a list is ordered: one of its sort keys, ascending or descending."""

    key: str
    descending: bool

    @property
    def direction(self) -> str:
        return "desc" if self.descending else "asc"


@dataclass(frozen=True)
class SortOptions:
    """The orders a list offers: key -> the columns it sorts by (the last one unique, so pages never
    overlap), the direction each key starts in, and the list's default."""

    columns: Mapping[str, Sequence]
    default: Sort
    starts_descending: frozenset[str] = frozenset()

    def pick(self, key: str | None, direction: str | None) -> Sort:
        """The order asked for in the URL, or the default for anything it does not offer."""
        if key not in self.columns:
            return self.default
        if direction not in ("asc", "desc"):
            return Sort(key, key in self.starts_descending)
        return Sort(key, direction == "desc")

    def header(self, current: Sort, key: str) -> tuple[str | None, str]:
        """A sortable column's header: its aria-sort (None when the list is not sorted by it) and the
        direction its link asks for (the other one when sorted by it, else the key's own start)."""
        if current.key == key:
            return ("descending" if current.descending else "ascending"), (
                "asc" if current.descending else "desc"
            )
        return None, ("desc" if key in self.starts_descending else "asc")

    def order_by(self, sort: Sort) -> list:
        columns = self.columns.get(sort.key) or self.columns[self.default.key]
        return [column.desc() if sort.descending else column.asc() for column in columns]
