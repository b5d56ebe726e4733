"""Search keys and the prefix match every search box uses (My Bookings, Finance, requests, the API)."""

from __future__ import annotations

import re
from functools import cache

from sqlalchemy import ColumnElement, Select, bindparam, func, select

from portal.extensions import read
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


# A term with at most this many keys in the scope is "rare": the bookings are found from its keys (a
# short list, then each booking by id). A term with more is "frequent": each booking in the list's order
# is probed for a key instead, which stops after the page; finding every match first would cost as much
# as the matches (issue 14). Which of the two is one index skip of this many keys.
FEW_KEYS = 1_000
# The count of a frequent term reads no more than this many keys: more distinct bookings than the list's
# count cap within them is "1,000+"; only a window of keys spread over fewer bookings counts them all.
COUNT_WINDOW = 3_000


@cache
def _term_keys(in_account: bool) -> Select:
    """Ids of the bookings with a key in [term_from, term_to) (in account_id), as a statement built once:
    the term and the account are bound at each call (`term_params`)."""
    keys = select(BookingSearchKey.booking_id).where(
        BookingSearchKey.key >= bindparam("term_from"), BookingSearchKey.key < bindparam("term_to")
    )
    return keys.where(BookingSearchKey.account_id == bindparam("account_id")) if in_account else keys


def bookings_matching(term: str, account_id: int | None) -> Select:
    """Ids of the bookings with a search key (order number, PNR, ticket, names) starting with `term`, in
    the account when given: the one statement of `_term_keys` with its values set."""
    return _term_keys(account_id is not None).params(**term_params(term, account_id))


def term_params(term: str, account_id: int | None) -> dict:
    params = {"term_from": term, "term_to": term + PAST_PREFIX}
    return params if account_id is None else {**params, "account_id": account_id}


@cache
def _probe(in_account: bool) -> Select:
    return _term_keys(in_account).limit(1).offset(bindparam("skip"))


@cache
def _window_count(in_account: bool) -> Select:
    window = _term_keys(in_account).limit(bindparam("window")).subquery()
    distinct = select(window.c.booking_id).distinct().limit(bindparam("cap_past")).subquery()
    return select(func.count()).select_from(distinct)


@cache
def _distinct_count(in_account: bool) -> Select:
    distinct = _term_keys(in_account).distinct().limit(bindparam("cap_past")).subquery()
    return select(func.count()).select_from(distinct)


def is_rare(term: str, account_id: int | None) -> bool:
    """Whether `term` has at most FEW_KEYS keys (in the account when given): one index skip."""
    params = {**term_params(term, account_id), "skip": FEW_KEYS}
    return read(_probe(account_id is not None), params).scalar() is None


@cache
def match_condition(rare: bool, in_account: bool) -> ColumnElement:
    """The condition on Booking of a term's plan (`is_rare`), built once; `term_params` are its values.
    A rare term's bookings are found by id from its keys; a frequent one is an index probe per booking
    (on (booking_id, key)), so the list's own order decides how far it reads."""
    if rare:
        return Booking.id.in_(_term_keys(in_account))
    return (
        select(BookingSearchKey.id)
        .where(
            BookingSearchKey.booking_id == Booking.id,
            BookingSearchKey.key >= bindparam("term_from"),
            BookingSearchKey.key < bindparam("term_to"),
        )
        .exists()
    )


def count_matching(term: str, account_id: int | None, rare: bool, cap: int) -> tuple[int, bool]:
    """How many bookings have a key starting with `term`, stopping at `cap`: (total, more than the cap).
    A frequent term's count reads a window of COUNT_WINDOW keys first; more distinct bookings than the cap
    in it is "more"; only a full window spread over fewer bookings counts them all."""
    in_account = account_id is not None
    params = {**term_params(term, account_id), "cap_past": cap + 1}
    if not rare:
        counted = read(_window_count(in_account), {**params, "window": COUNT_WINDOW}).scalar()
        if counted > cap:
            return cap, True
        if read(_probe(in_account), {**params, "skip": COUNT_WINDOW}).scalar() is None:
            return counted, False  # the window held every key
    counted = read(_distinct_count(in_account), params).scalar()
    return min(counted, cap), counted > cap
