"""Search keys and the prefix match every search box uses (My Bookings, Finance, requests, the API)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, false, func, select

from portal.extensions import db
from portal.models import Booking, BookingSearchKey

_NOT_KEY = re.compile(r"[^A-Z0-9]")
# Sorts after every key character, so [term, term + PAST_PREFIX) is "starts with term" on an index.
PAST_PREFIX = "~"


def search_key(text: str) -> str:
    """Upper-case letters and digits only: 'Tan, Wei-Ming' -> 'TANWEIMING', '618-24…' -> '61824…'."""
    return _NOT_KEY.sub("", text.upper())


def starts_with(column, term: str):
    """`column` starts with `term`, as a range an ordinary index serves (LIKE would not, everywhere)."""
    return (column >= term) & (column < term + PAST_PREFIX)


def bookings_matching(term: str, account_id: int | None) -> Select:
    """Ids of the bookings with a search key (order number, PNR, ticket, names) starting with `term`."""
    keys = select(BookingSearchKey.booking_id).where(starts_with(BookingSearchKey.key, term))
    if account_id is not None:
        keys = keys.where(BookingSearchKey.account_id == account_id)
    return keys


# A term with at most this many keys in the scope is "few": its bookings are read by id from the keys
# (then counted exactly). A term with more is probed per booking in the list's order instead, which stops
# after the page; reading every match first would cost as much as the matches (issue 14).
FEW_KEYS = 1_000
# The count of a frequent term reads no more than this many keys: more distinct bookings than the list's
# count cap within them is "1,000+"; only a window of keys spread over fewer bookings counts them all.
COUNT_WINDOW = 3_000


@dataclass(frozen=True)
class BookingMatch:
    """Which bookings a search term matches, as a condition on Booking, chosen by how common it is."""

    condition: ColumnElement
    # Every matching booking's id when the term is rare (exact); None when it is frequent.
    booking_ids: frozenset[int] | None
    # A frequent term's keys (their booking ids), to count them.
    keys: Select | None = None

    def count(self, cap: int) -> tuple[int, bool]:
        """How many bookings match, stopping at `cap`: (total, more than the cap)."""
        if self.booking_ids is not None:
            return min(len(self.booking_ids), cap), len(self.booking_ids) > cap
        return self._frequent_count(cap)

    def _frequent_count(self, cap: int) -> tuple[int, bool]:
        window = self.keys.limit(COUNT_WINDOW).subquery()
        distinct = select(window.c.booking_id).distinct().limit(cap + 1).subquery()
        counted = db.session.scalar(select(func.count()).select_from(distinct))
        if counted > cap:
            return cap, True
        if db.session.scalar(self.keys.limit(1).offset(COUNT_WINDOW)) is None:
            return counted, False  # the window held every key
        whole = self.keys.distinct().limit(cap + 1).subquery()
        counted = db.session.scalar(select(func.count()).select_from(whole))
        return min(counted, cap), counted > cap


def booking_match(term: str, account_id: int | None) -> BookingMatch:
    """The bookings with a key starting with `term` (in the account when given), as the cheaper of two
    plans: few keys are read whole and the bookings fetched by id; many are probed per booking."""
    keys = bookings_matching(term, account_id)
    found = db.session.scalars(keys.limit(FEW_KEYS + 1)).all()
    if len(found) <= FEW_KEYS:
        ids = frozenset(found)
        return BookingMatch(Booking.id.in_(sorted(ids)) if ids else false(), ids)
    probe = select(BookingSearchKey.id).where(
        BookingSearchKey.booking_id == Booking.id, starts_with(BookingSearchKey.key, term)
    )
    return BookingMatch(probe.exists(), None, keys)
