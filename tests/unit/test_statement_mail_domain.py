"""Statements by e-mail: which whole period each schedule sends, in the portal's zone, and the body."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from portal.domain.errors import DomainError
from portal.domain.ledger import build_statement
from portal.domain.statement_mail import (
    Schedule,
    due_period,
    parse_schedule,
    recipients_refusal,
    statement_summary,
)

ZONE = "Asia/Singapore"


@pytest.mark.parametrize(
    ("schedule", "now", "period"),
    [
        # 1 July 2026 00:30 in Singapore is still 30 June in UTC: the zone decides the day.
        ("daily", datetime(2026, 6, 30, 16, 30, tzinfo=UTC), (date(2026, 6, 30), date(2026, 6, 30))),
        ("daily", datetime(2026, 1, 1, 2, 0, tzinfo=UTC), (date(2025, 12, 31), date(2025, 12, 31))),
        # Wednesday 17 June 2026: last week is Monday 8 to Sunday 14 June; on a Monday, the week just ended.
        ("weekly", datetime(2026, 6, 17, 2, 0, tzinfo=UTC), (date(2026, 6, 8), date(2026, 6, 14))),
        ("weekly", datetime(2026, 6, 15, 2, 0, tzinfo=UTC), (date(2026, 6, 8), date(2026, 6, 14))),
        ("monthly", datetime(2026, 7, 1, 2, 0, tzinfo=UTC), (date(2026, 6, 1), date(2026, 6, 30))),
        ("monthly", datetime(2026, 3, 31, 2, 0, tzinfo=UTC), (date(2026, 2, 1), date(2026, 2, 28))),
        ("monthly", datetime(2026, 1, 15, 2, 0, tzinfo=UTC), (date(2025, 12, 1), date(2025, 12, 31))),
        ("off", datetime(2026, 1, 15, 2, 0, tzinfo=UTC), None),
    ],
)
def test_each_schedule_sends_its_last_whole_period(schedule, now, period):
    assert due_period(schedule, now, ZONE) == period


def test_a_schedule_is_one_of_four_and_needs_an_address():
    assert parse_schedule(" Weekly ") is Schedule.WEEKLY
    with pytest.raises(DomainError) as refused:
        parse_schedule("hourly")
    assert refused.value.field == "statement_schedule"
    assert recipients_refusal(Schedule.MONTHLY, []) is not None
    assert recipients_refusal(Schedule.OFF, []) is None
    assert recipients_refusal(Schedule.DAILY, ["a@b.example"]) is None


def test_the_summary_gives_each_currencys_balances():
    class Entry:
        def __init__(self, amount):
            self.amount = Decimal(amount)

    sgd = build_statement("SGD", Decimal("100.00"), [Entry("300.00"), Entry("-40.00")])
    body = statement_summary(
        account_code="DEMO",
        account_name="Demo Travel",
        start=date(2026, 6, 1),
        end=date(2026, 6, 30),
        zone=ZONE,
        statements=[sgd],
    )
    assert "01 Jun 2026 to 30 Jun 2026" in body
    assert "Opening balance: SGD 100.00" in body
    assert "Credits:         SGD 300.00" in body
    assert "Debits:          SGD -40.00" in body
    assert "Closing balance: SGD 360.00" in body
    assert "Entries:         2" in body
