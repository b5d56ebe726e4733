"""Search keys and the prefix match every search box uses (My Bookings, Finance, requests, the API)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, select

from portal.extensions import db
from portal.models import Booking, BookingSearchKey
from portal.services.paging import count

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


# A term with at most this many keys in the scope is "rare": the bookings are found from its keys (a
# short list, then each booking by id). A term with more is "frequent": each booking in the list's order
# is probed for a key instead, which stops after the page; finding every match first would cost as much
# as the matches (issue 14). Which of the two is one index skip of this many keys.
FEW_KEYS = 1_000
# The count of a frequent term reads no more than this many keys: more distinct bookings than the list's
# count cap within them is "1,000+"; only a window of keys spread over fewer bookings counts them all.
COUNT_WINDOW = 3_000


@dataclass(frozen=True)
class BookingMatch:
    """Which bookings a search term matches, as a condition on Booking, chosen by how common it is."""

    condition: ColumnElement
    # True when the term has few keys: the bookings are found by id (the caller keeps the planner off the
    # account's index, which it would otherwise walk whole).
    rare: bool
    # The term's keys (their booking ids), to count them.
    keys: Select

    def count(self, cap: int) -> tuple[int, bool]:
        """How many bookings match, stopping at `cap`: (total, more than the cap)."""
        if self.rare:
            return count(self.keys.distinct(), cap=cap)
        window = self.keys.limit(COUNT_WINDOW).subquery()
        distinct = select(window.c.booking_id).distinct().limit(cap + 1).subquery()
        counted = db.session.scalar(select(func.count()).select_from(distinct))
        if counted > cap:
            return cap, True
        if db.session.scalar(self.keys.limit(1).offset(COUNT_WINDOW)) is None:
            return counted, False  # the window held every key
        return count(self.keys.distinct(), cap=cap)


def booking_match(term: str, account_id: int | None) -> BookingMatch:
    """The bookings with a key starting with `term` (in the account when given), by the cheaper of two
    plans: a rare term's bookings by id from its keys; a frequent term probed per booking."""
    keys = bookings_matching(term, account_id)
    if db.session.scalar(keys.limit(1).offset(FEW_KEYS)) is None:
        return BookingMatch(Booking.id.in_(keys), True, keys)
    probe = select(BookingSearchKey.id).where(
        BookingSearchKey.booking_id == Booking.id, starts_with(BookingSearchKey.key, term)
    )
    return BookingMatch(probe.exists(), False, keys)
