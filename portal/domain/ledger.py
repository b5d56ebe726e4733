"""The account ledger (SPEC 5): adjustments, statement periods and the reconciliation statement.

The balance is the sum of append-only entries: refund credits (> 0), baggage debits (< 0) and admin
adjustments (either sign, with a reason). A correction is a new entry, never an edit. Pure Python.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from portal.domain.errors import DomainError
from portal.domain.money import Money, TypedAmountError, decimals_phrase, parse_typed_amount

ZERO = Decimal("0.00")
MAX_ADJUSTMENT = Decimal("10000000000")  # ten digits before the point, as the import allows
MAX_REASON = 500


class EntryKind(StrEnum):
    """What moved the balance. Every ledger entry is one of these, written by one service."""

    REFUND_CREDIT = "refund_credit"
    BAGGAGE_DEBIT = "baggage_debit"
    ADJUSTMENT = "adjustment"


ENTRY_KIND_LABELS: Mapping[EntryKind, str] = MappingProxyType(
    {
        EntryKind.REFUND_CREDIT: "Refund credit",
        EntryKind.BAGGAGE_DEBIT: "Baggage",
        EntryKind.ADJUSTMENT: "Adjustment",
    }
)


def entry_sign_refusal(kind: EntryKind | str, amount: Decimal) -> str | None:
    """None when an entry of this kind may carry this amount: credits are positive, debits negative,
    adjustments either but never zero. Otherwise why not (a programming error, not a user's)."""
    kind = EntryKind(kind)
    if kind is EntryKind.REFUND_CREDIT and amount <= 0:
        return "a refund credit is positive"
    if kind is EntryKind.BAGGAGE_DEBIT and amount >= 0:
        return "a baggage debit is negative"
    if kind is EntryKind.ADJUSTMENT and amount == 0:
        return "an adjustment is never zero"
    return None


class AdjustmentInvalid(DomainError, ValueError):
    """An adjustment that cannot be posted; the message is for the admin."""


def adjustment_amount(raw: str | None, currency: str) -> Decimal:
    """Parse an adjustment typed by an admin: '+150', '-25.50', '1,200.00'. Never zero; at most the
    currency's decimals."""
    try:
        amount = parse_typed_amount(raw, currency)
    except TypedAmountError as exc:
        message = {
            "empty": "Enter the amount: positive to credit the account, negative to debit it.",
            "not_a_number": "Enter the amount as a number such as 150.00 or -25.50.",
            "too_precise": f"Enter the amount with {decimals_phrase(currency)}.",
            "too_large": "That amount is too large for one adjustment.",
        }[exc.reason]
        raise AdjustmentInvalid(message) from None
    if amount == 0:
        raise AdjustmentInvalid("An adjustment of zero changes nothing; enter a positive or negative amount.")
    if abs(amount) >= MAX_ADJUSTMENT:
        raise AdjustmentInvalid("That amount is too large for one adjustment.")
    return amount


def adjustment_reason(raw: str | None) -> str:
    """The reason, required: it is what the agency reads on its statement."""
    reason = " ".join((raw or "").split())
    if not reason:
        raise AdjustmentInvalid("Enter the reason for the adjustment; the agency sees it on its statement.")
    if len(reason) > MAX_REASON:
        raise AdjustmentInvalid(f"Keep the reason under {MAX_REASON} characters.")
    return reason


# --- Statement periods -----------------------------------------------------------------------------------


def default_period(now: datetime, zone: str) -> tuple[date, date]:
    """This month so far, in the portal's zone: the first of the month to today."""
    today = now.astimezone(ZoneInfo(zone)).date()
    return today.replace(day=1), today


def period_bounds(start: date, end: date, zone: str) -> tuple[datetime, datetime]:
    """[from, to) in UTC for whole local days start..end inclusive."""
    if end < start:
        raise ValueError("the period ends before it starts")
    tz = ZoneInfo(zone)
    begin = datetime.combine(start, time.min, tz).astimezone(UTC)
    finish = datetime.combine(end + timedelta(days=1), time.min, tz).astimezone(UTC)
    return begin, finish


# --- The statement ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementLine:
    entry: Any  # the ledger entry (or any object with .amount), shown as it is
    amount: Decimal
    balance: Decimal  # after this entry
    currency: str

    @property
    def amount_money(self) -> Money:
        return Money(self.amount, self.currency)

    @property
    def balance_money(self) -> Money:
        return Money(self.balance, self.currency)


@dataclass(frozen=True, slots=True)
class Statement:
    """One currency's statement for a period: opening + entries = closing."""

    currency: str
    opening: Decimal
    lines: tuple[StatementLine, ...]

    @property
    def credits(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.amount > 0), ZERO)

    @property
    def debits(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.amount < 0), ZERO)

    @property
    def closing(self) -> Decimal:
        return self.lines[-1].balance if self.lines else self.opening

    @property
    def credits_money(self) -> Money:
        return Money(self.credits, self.currency)

    @property
    def debits_money(self) -> Money:
        return Money(self.debits, self.currency)

    @property
    def opening_money(self) -> Money:
        return Money(self.opening, self.currency)

    @property
    def closing_money(self) -> Money:
        return Money(self.closing, self.currency)


def build_statement(currency: str, opening: Decimal, entries: Iterable[Any]) -> Statement:
    """A statement from the opening balance and the period's entries in posting order (each has .amount)."""
    balance = opening
    lines = []
    for entry in entries:
        balance += entry.amount
        lines.append(StatementLine(entry, entry.amount, balance, currency))
    return Statement(currency, opening, tuple(lines))
