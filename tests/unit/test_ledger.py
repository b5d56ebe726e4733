"""The ledger's rules without a database: adjustments, statement periods and the statement itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.domain.ledger import (
    AdjustmentInvalid,
    adjustment_amount,
    adjustment_reason,
    build_statement,
    default_period,
    period_bounds,
)


@pytest.mark.parametrize(
    ("raw", "amount"),
    [("150", "150.00"), ("+150.5", "150.50"), ("-25.50", "-25.50"), (" 1,200.00 ", "1200.00")],
)
def test_adjustment_amounts(raw, amount):
    assert adjustment_amount(raw, "SGD") == Decimal(amount)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter the amount"),
        ("abc", "as a number"),
        ("=1+1", "as a number"),
        ("NaN", "as a number"),
        ("12.345", "two decimals"),
        ("0", "zero"),
        ("-0.00", "zero"),
        ("99999999999", "too large"),
    ],
)
def test_bad_adjustment_amounts(raw, message):
    with pytest.raises(AdjustmentInvalid, match=message):
        adjustment_amount(raw, "SGD")


def test_adjustment_reason_is_required_and_tidied():
    assert adjustment_reason("  Goodwill   credit\n for delay ") == "Goodwill credit for delay"
    with pytest.raises(AdjustmentInvalid, match="reason"):
        adjustment_reason("   ")
    with pytest.raises(AdjustmentInvalid, match="under 500"):
        adjustment_reason("x" * 501)


def test_period_is_whole_local_days_in_utc():
    begin, end = period_bounds(date(2026, 11, 1), date(2026, 11, 30), "Asia/Singapore")
    assert begin == datetime(2026, 10, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        period_bounds(date(2026, 11, 2), date(2026, 11, 1), "Asia/Singapore")


def test_default_period_is_this_month_in_the_portal_zone():
    # 31 Oct 17:00 UTC is already 1 Nov in Singapore.
    assert default_period(datetime(2026, 10, 31, 17, 0, tzinfo=UTC), "Asia/Singapore") == (
        date(2026, 11, 1),
        date(2026, 11, 1),
    )


@dataclass
class Entry:
    amount: Decimal


def test_statement_runs_from_opening_to_closing():
    s = build_statement("SGD", Decimal("100.00"), [Entry(Decimal("285.00")), Entry(Decimal("-38.00"))])
    assert [line.balance for line in s.lines] == [Decimal("385.00"), Decimal("347.00")]
    assert s.closing == Decimal("347.00") and s.credits == Decimal("285.00") and s.debits == Decimal("-38.00")
    empty = build_statement("SGD", Decimal("12.00"), [])
    assert empty.closing == Decimal("12.00") and empty.lines == ()


amounts = st.decimals(min_value=Decimal("-10000"), max_value=Decimal("10000"), places=2, allow_nan=False)


@given(opening=amounts, moves=st.lists(amounts, max_size=30))
def test_closing_is_opening_plus_every_entry(opening, moves):
    s = build_statement("SGD", opening, [Entry(m) for m in moves])
    assert s.closing == opening + sum(moves, Decimal("0")) == s.opening + s.credits + s.debits
