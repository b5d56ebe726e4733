"""Search keys and the prefix match every search box uses (My Bookings, Finance, requests, the API)."""

from __future__ import annotations

import re

from sqlalchemy import Select, select

from portal.models import BookingSearchKey

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
