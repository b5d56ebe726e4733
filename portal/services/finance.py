"""Finance: the Refunds list and its export, balances, the reconciliation statement and adjustments.

Reads are tenant-scoped by the caller's `scope` (an account id for agents, None for staff); every list
runs a fixed number of queries whatever the number of rows. Flushes, never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func, or_, select, true, tuple_
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.domain.audit import AuditKind
from portal.domain.deadlines import follow_up_cutoff
from portal.domain.ledger import EntryKind, Statement, adjustment_amount, adjustment_reason, build_statement
from portal.domain.money import Money
from portal.domain.refunds import (
    AGENT_PATHS,
    FINAL_STATUSES,
    OPERATOR_PATHS,
    STATUS_LABELS,
    RefundStatus,
    path_group_label,
)
from portal.domain.refunds import actual_amount as domain_actual_amount
from portal.extensions import db, read
from portal.models import (
    Account,
    Booking,
    LedgerEntry,
    Passenger,
    Refund,
    RefundCoupon,
    RefundPassenger,
    User,
)
from portal.services import audit, notifications
from portal.services.followups import follow_up_state
from portal.services.ledger import post_entry
from portal.services.paging import Page, Slice, Sort, SortOptions, clamp, count
from portal.services.scope import Scope
from portal.services.search import bookings_matching, search_key

# Tabs of Finance → Refunds: URL slug -> the paths it lists (None: every path).
TABS = {
    "all": None,
    "operator": frozenset(p.value for p in OPERATOR_PATHS),
    "agent": frozenset(p.value for p in AGENT_PATHS),
}


@dataclass(frozen=True)
class RefundFilters:
    tab: str = "all"
    q: str = ""
    status: str | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    account_id: int | None = None  # staff only
    path: str | None = None  # one RefundPath value (the API's `path`)
    order_number: str | None = None  # exactly this booking (the API's `order_number`)
    follow_up: str | None = None  # "available": not final and past the 21 days (follow_up_state's rule)


def _day_start(day: date, zone: str) -> datetime:
    return datetime.combine(day, time.min, ZoneInfo(zone))


def refund_conditions(filters: RefundFilters, scope: Scope, zone: str) -> list:
    """WHERE conditions for the list and the export: the tenant scope first, then the filters."""
    conditions = []
    account_id = scope.narrowed(filters.account_id).account_id
    if account_id is not None:
        conditions.append(Refund.account_id == account_id)
    paths = TABS.get(filters.tab)
    if paths is not None:
        conditions.append(Refund.path.in_(sorted(paths)))
    if filters.path:
        conditions.append(Refund.path == filters.path)
    if filters.status:
        conditions.append(Refund.status == filters.status)
    if filters.order_number:
        conditions.append(
            Refund.booking_id.in_(
                select(Booking.id).where(Booking.order_number == filters.order_number.strip().upper())
            )
        )
    if filters.follow_up == "available":
        conditions.append(Refund.status.not_in([s.value for s in FINAL_STATUSES]))
        conditions.append(Refund.created_at <= follow_up_cutoff(utcnow()))
    # Dates are the portal zone's calendar days; stored times are UTC.
    # "Submitted" is submitted to the airline (Refund.submitted_at): a refund still requested has none.
    if filters.submitted_from:
        conditions.append(Refund.submitted_at >= _day_start(filters.submitted_from, zone))
    if filters.submitted_to:
        conditions.append(Refund.submitted_at < _day_start(filters.submitted_to + timedelta(days=1), zone))
    term = search_key(filters.q)
    if term:
        # Order number, PNR, ticket number and passenger names: the bookings' indexed prefix keys.
        matches = [Refund.booking_id.in_(bookings_matching(term, account_id))]
        if term.startswith("RF") and term[2:].isdigit():
            matches.append(Refund.code == term)  # a refund code is exact (RF + its number)
        conditions.append(or_(*matches))
    return conditions


def _row_options(stmt):
    return stmt.options(
        selectinload(Refund.booking),
        selectinload(Refund.account),
        selectinload(Refund.passengers).selectinload(RefundPassenger.passenger),
    )


def count_refunds(filters: RefundFilters, scope: Scope, zone: str) -> int:
    """How many refunds Finance → Refunds lists with these filters: one query."""
    return db.session.scalar(select(func.count(Refund.id)).where(*refund_conditions(filters, scope, zone)))


# Finance → Refunds: newest first by default (refund codes are given in the order refunds are made).
FINANCE_REFUND_SORTS = SortOptions(
    columns={
        "code": (Refund.created_at, Refund.id),
        "submitted": (Refund.submitted_at, Refund.id),
    },
    default=Sort("code", descending=True),
    starts_descending=frozenset({"code", "submitted"}),
)


def list_refunds(
    filters: RefundFilters, scope: Scope, page: int, per_page: int, zone: str, sort: Sort | None = None
) -> Page:
    """One page of refunds, newest first (or as `sort` says, FINANCE_REFUND_SORTS), in a fixed number of
    queries (count, rows, 4 eager loads)."""
    conditions = refund_conditions(filters, scope, zone)
    total, _ = count(select(Refund.id).where(*conditions))
    page = clamp(page, total, per_page)
    items = db.session.scalars(
        _row_options(
            select(Refund)
            .where(*conditions)
            .order_by(*FINANCE_REFUND_SORTS.order_by(sort or FINANCE_REFUND_SORTS.default))
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).all()
    return Page(items=list(items), total=total, page=page, per_page=per_page)


def refunds_after(
    filters: RefundFilters, scope: Scope, after: tuple[datetime, int] | None, limit: int, zone: str
) -> Slice:
    """The API's list: the same conditions, newest first, read after a cursor position (created_at, id),
    with everything a refund's answer shows in a fixed number of queries."""
    stmt = select(Refund).where(*refund_conditions(filters, scope, zone))
    if after is not None:
        stmt = stmt.where(tuple_(Refund.created_at, Refund.id) < tuple_(*after))
    items = list(
        db.session.scalars(
            refund_details(stmt.order_by(Refund.created_at.desc(), Refund.id.desc()).limit(limit + 1))
        )
    )
    more = len(items) > limit
    items = items[:limit]
    return Slice(items, (items[-1].created_at, items[-1].id) if more else None)


def refund_details(stmt):
    """A refund with its booking, quote lines, coupons, events and reason, loaded with it."""
    return stmt.options(
        selectinload(Refund.booking),
        selectinload(Refund.passengers).selectinload(RefundPassenger.passenger),
        selectinload(Refund.coupons).selectinload(RefundCoupon.passenger),
        selectinload(Refund.coupons).selectinload(RefundCoupon.segment),
        selectinload(Refund.events),
        selectinload(Refund.reason),
    )


def iter_refund_rows(filters: RefundFilters, scope: Scope, zone: str, chunk: int = 2000):
    """Every refund the filters select, newest first, as plain rows with their passengers' names, a chunk
    at a time (keyset pagination, two queries per chunk): memory stays flat and no ORM objects are built,
    so a streamed export of 200,000 refunds is quick."""
    conditions = refund_conditions(filters, scope, zone)
    columns = (
        Refund.id,
        Refund.code,
        Refund.path,
        Refund.status,
        Refund.currency,
        Refund.estimated_amount,
        Refund.airline_amount,
        Refund.credited_amount,
        Refund.created_at,
        Refund.submitted_at,
        Booking.order_number,
        Account.code.label("account_code"),
    )
    after: tuple[datetime, int] | None = None
    while True:
        stmt = (
            select(*columns)
            .join(Booking, Booking.id == Refund.booking_id)
            .join(Account, Account.id == Refund.account_id)
            .where(*conditions)
        )
        if after is not None:
            # A row-value comparison: both databases walk the (created_at, id) index from there.
            stmt = stmt.where(tuple_(Refund.created_at, Refund.id) < tuple_(*after))
        rows = db.session.execute(
            stmt.order_by(Refund.created_at.desc(), Refund.id.desc()).limit(chunk)
        ).all()
        if not rows:
            return
        names: dict[int, list[str]] = {}
        for refund_id, last, first in db.session.execute(
            select(RefundPassenger.refund_id, Passenger.last_name, Passenger.first_name)
            .join(Passenger, Passenger.id == RefundPassenger.passenger_id)
            .where(RefundPassenger.refund_id.in_([r.id for r in rows]))
            .order_by(RefundPassenger.id)
        ):
            names.setdefault(refund_id, []).append(f"{last}/{first}")
        for row in rows:
            yield row, ", ".join(names.get(row.id, []))
        if len(rows) < chunk:
            return
        after = (rows[-1].created_at, rows[-1].id)


# --- How a refund shows in the list ------------------------------------------------------------------


def actual_amount(row) -> Decimal | None:
    """The actual amount of a list row (domain.refunds.actual_amount), as a number for spreadsheets."""
    amount, _ = domain_actual_amount(
        row.status,
        airline_amount=Money.of(row.airline_amount, row.currency),
        credited_amount=Money.of(row.credited_amount, row.currency),
    )
    return None if amount is None else amount.amount


def passenger_names(refund: Refund) -> str:
    return ", ".join(f"{line.passenger.last_name}/{line.passenger.first_name}" for line in refund.passengers)


EXPORT_HEADERS = (
    "Refund code",
    "Order number",
    "Account",
    "Type",
    "Passengers",
    "Submitted",
    "Status",
    "Currency",
    "Estimated amount",
    "Actual amount",
    "Follow-up",
)


def export_rows(filters: RefundFilters, scope: Scope, zone: str, operator_name: str):
    """The refunds list as spreadsheet rows (headers first): amounts stay Decimals, times local."""
    tz = ZoneInfo(zone)
    now = utcnow()
    yield EXPORT_HEADERS
    for r, names in iter_refund_rows(filters, scope, zone):
        amount = actual_amount(r)
        yield (
            r.code,
            r.order_number,
            r.account_code,
            path_group_label(r.path, operator_name),
            names,
            None if r.submitted_at is None else r.submitted_at.astimezone(tz),
            STATUS_LABELS[RefundStatus(r.status)],
            r.currency,
            r.estimated_amount,
            amount,
            follow_up_state(r, now)[1],
        )


# --- Balances, statement, adjustments ---------------------------------------------------------------


def balances(account_id: int) -> dict[str, Decimal]:
    """The account's balance per currency: the sum of its ledger."""
    rows = db.session.execute(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
        .where(LedgerEntry.account_id == account_id)
        .group_by(LedgerEntry.currency)
        .order_by(LedgerEntry.currency)
    ).all()
    return {currency: total for currency, total in rows}


def balance_list(account: Account) -> list[Money]:
    """The balances an account is shown (the page header, the API): one per currency of its ledger, or
    zero in its own currency when nothing was ever posted."""
    return _shown_balances(account, balances(account.id).items())


def _shown_balances(account: Account, sums) -> list[Money]:
    return [Money(amount, currency) for currency, amount in sums] or [Money.zero(account.currency)]


@cache
def _header_statement(with_balances: bool):
    """The header's one query, built once: the unread count, joined (for an account's user) to the
    ledger's sums per currency. Values are bound at each call."""
    unread = notifications.unread_query(bindparam("user_id")).subquery()
    if not with_balances:
        return select(unread.c[0])
    sums = (
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount).label("total"))
        .where(LedgerEntry.account_id == bindparam("account_id"))
        .group_by(LedgerEntry.currency)
        .subquery()
    )
    return (
        select(unread.c[0], sums.c.currency, sums.c.total)
        .select_from(unread)
        .outerjoin(sums, true())
        .order_by(sums.c.currency)
    )


def header_figures(user_id: int, account: Account | None) -> tuple[int, list[Money]]:
    """The page header's unread count and, for an account's user (`account`), its balances
    (balance_list), in one query: the unread count joined to the ledger's sums per currency."""
    if account is None:
        return read(_header_statement(False), {"user_id": user_id}).scalar(), []
    rows = read(_header_statement(True), {"user_id": user_id, "account_id": account.id}).all()
    return rows[0][0], _shown_balances(account, [(c, t) for _, c, t in rows if c is not None])


@dataclass
class StatementEntry:
    """A ledger entry as the statement shows it, with its refund's code and order number."""

    entry: LedgerEntry
    refund_code: str | None
    order_number: str | None

    @property
    def amount(self) -> Decimal:
        return self.entry.amount


def statement(account: Account, begin: datetime, end: datetime) -> list[Statement]:
    """One statement per currency the account has used (its own currency always), for [begin, end)."""
    opening = dict(
        db.session.execute(
            select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.account_id == account.id, LedgerEntry.created_at < begin)
            .group_by(LedgerEntry.currency)
        ).all()
    )
    rows = db.session.execute(
        select(LedgerEntry, Refund.code, Booking.order_number)
        .outerjoin(Refund, Refund.id == LedgerEntry.refund_id)
        .outerjoin(Booking, Booking.id == Refund.booking_id)
        .where(
            LedgerEntry.account_id == account.id,
            LedgerEntry.created_at >= begin,
            LedgerEntry.created_at < end,
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
        .options(selectinload(LedgerEntry.account))
    ).all()
    by_currency: dict[str, list[StatementEntry]] = {}
    for entry, code, order_number in rows:
        by_currency.setdefault(entry.currency, []).append(StatementEntry(entry, code, order_number))
    currencies = sorted({account.currency, *opening, *by_currency})
    return [
        build_statement(cur, opening.get(cur) or Decimal("0.00"), by_currency.get(cur, []))
        for cur in currencies
    ]


def statement_rows(account: Account, statements: list[Statement], start: date, end: date, zone: str):
    """The statement as spreadsheet rows: a title block, then per currency opening, entries, closing."""
    tz = ZoneInfo(zone)
    yield ("Statement", f"{account.code} — {account.name}")
    yield ("Period", f"{start:%Y-%m-%d} to {end:%Y-%m-%d} ({zone})")
    yield ()
    yield ("Date", "Type", "Refund code", "Order number", "Description", "Currency", "Amount", "Balance")
    for s in statements:
        yield ("", "Opening balance", "", "", "", s.currency, None, s.opening)
        for line in s.lines:
            item = line.entry
            yield (
                item.entry.created_at.astimezone(tz),
                item.entry.kind_label,
                item.refund_code or "",
                item.order_number or "",
                item.entry.description,
                s.currency,
                line.amount,
                line.balance,
            )
        yield ("", "Closing balance", "", "", "", s.currency, None, s.closing)


def post_adjustment(account: Account, *, amount: str, reason: str, user: User, now=None) -> LedgerEntry:
    """Append an admin adjustment to the account's ledger (in its currency). AdjustmentInvalid if the
    amount or reason is not acceptable. A correction is another adjustment, never an edit."""
    if not user.is_admin:
        raise PermissionError("only admins post adjustments")
    value = adjustment_amount(amount, account.currency)
    text = adjustment_reason(reason)
    entry = post_entry(
        account_id=account.id,
        amount=Money(value, account.currency),
        kind=EntryKind.ADJUSTMENT,
        description=text,
        user=user,
        now=now,
    )
    audit.record(
        AuditKind.ADJUSTMENT_POSTED,
        actor=user,
        subject=None,
        account_id=account.id,
        detail=f"{entry.money} on {account.code}: {text}",
        now=now,
    )
    return entry


def ledger_check(account_id: int) -> dict[str, tuple[Decimal, Decimal]]:
    """Per currency: (sum of the ledger, credits of refunded refunds − debits + adjustments).

    The two must agree; used by the invariant test and handy for a reconciliation check.
    """
    total = balances(account_id)
    credits = dict(
        db.session.execute(
            select(Refund.currency, func.sum(Refund.credited_amount))
            .where(
                Refund.account_id == account_id,
                Refund.status == RefundStatus.REFUNDED.value,
                Refund.credited_amount.is_not(None),
            )
            .group_by(Refund.currency)
        ).all()
    )
    others = dict(
        db.session.execute(
            select(LedgerEntry.currency, func.sum(LedgerEntry.amount))
            .where(LedgerEntry.account_id == account_id, LedgerEntry.kind != "refund_credit")
            .group_by(LedgerEntry.currency)
        ).all()
    )
    zero = Decimal("0.00")
    return {
        cur: (total.get(cur, zero), (credits.get(cur) or zero) + (others.get(cur) or zero))
        for cur in sorted({*total, *credits, *others})
    }
