"""Search keys and the prefix match every search box uses (My Bookings, Finance, requests, the API)."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from functools import cache

from sqlalchemy import ColumnElement, Select, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from portal.extensions import db, read
from portal.models import Booking, BookingSearchKey, SearchKeysVersion

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


@dataclass(frozen=True, slots=True)
class TermPlan:
    """How a term is searched (`rare`: at most FEW_KEYS keys in the scope) and the version of the search
    keys it was planned on (None before any import wrote keys): the key a count is kept under."""

    rare: bool
    version: str | None


@cache
def _plan(in_account: bool) -> Select:
    version = select(SearchKeysVersion.token).where(SearchKeysVersion.id == 1).scalar_subquery()
    return select(_probe(in_account).scalar_subquery(), version)


def plan_term(term: str, account_id: int | None) -> TermPlan:
    """Whether `term` is rare (in the account when given), by one index skip, and the keys' version, read
    in the same statement (so before any count made on the plan)."""
    params = {**term_params(term, account_id), "skip": FEW_KEYS}
    past_few, version = read(_plan(account_id is not None), params).one()
    return TermPlan(rare=past_few is None, version=version)


def keys_changed() -> None:
    """The import wrote search keys: a new version, in the import's transaction, so the counts kept for
    the old one are not read again (by any worker) once it commits."""
    token = secrets.token_hex(16)
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(
        dialect.insert(SearchKeysVersion)
        .values(id=1, token=token)
        .on_conflict_do_update(index_elements=["id"], set_={"token": token})
    )


@cache
def match_condition(rare: bool, in_account: bool) -> ColumnElement:
    """The condition on Booking of a term's plan (`plan_term`), built once; `term_params` are its values.
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


# Counts kept per (keys version, account, term, plan, cap), in each worker: paging, sorting or coming back
# to a search does not count its keys again until an import changes them, or for a minute at most (a
# writer of keys that does not renew the version, such as a data fix in SQL, leaves a count a minute old
# at worst). Emptied when full.
_COUNTS: dict[tuple, tuple[tuple[int, bool], float]] = {}
COUNTS_KEPT = 4_096
COUNT_KEPT_SECONDS = 60.0


def count_matching(term: str, account_id: int | None, plan: TermPlan, cap: int) -> tuple[int, bool]:
    """How many bookings have a key starting with `term`, stopping at `cap`: (total, more than the cap).
    Counted once per version of the keys (`plan.version`) and minute; never kept without a version."""
    if plan.version is None:
        return _count_matching(term, account_id, plan.rare, cap)
    key = (plan.version, account_id, term, plan.rare, cap)
    now = time.monotonic()
    kept = _COUNTS.get(key)
    if kept is not None and now - kept[1] < COUNT_KEPT_SECONDS:
        return kept[0]
    counted = _count_matching(term, account_id, plan.rare, cap)
    if len(_COUNTS) >= COUNTS_KEPT:
        _COUNTS.clear()
    _COUNTS[key] = (counted, now)
    return counted


def _count_matching(term: str, account_id: int | None, rare: bool, cap: int) -> tuple[int, bool]:
    """The count itself. A frequent term's count reads a window of COUNT_WINDOW keys first; more distinct
    bookings than the cap in it is "more"; only a full window spread over fewer bookings counts them all."""
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
