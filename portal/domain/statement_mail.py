"""Statements by e-mail (issue 15): the schedules an account may choose, the period each one sends, and
the summary the e-mail's body carries. Pure Python; the job is portal/services/statement_mail.py.

A period is whole calendar days in the portal's zone, always one that has ended: a daily statement is
yesterday's, a weekly one last Monday to Sunday, a monthly one last calendar month. The job sends each
account the period its schedule names at most once (a unique row per account and period).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from zoneinfo import ZoneInfo

from portal.domain.errors import DomainError
from portal.domain.ledger import Statement


class Schedule(StrEnum):
    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


SCHEDULE_LABELS: Mapping[Schedule, str] = MappingProxyType(
    {
        Schedule.OFF: "Not by e-mail",
        Schedule.DAILY: "Daily (the day before)",
        Schedule.WEEKLY: "Weekly (Monday to Sunday)",
        Schedule.MONTHLY: "Monthly (the calendar month)",
    }
)


class ScheduleInvalid(DomainError, ValueError):
    """A schedule that is not one of the four."""


def parse_schedule(raw: str | None) -> Schedule:
    try:
        return Schedule((raw or "").strip().lower())
    except ValueError:
        raise ScheduleInvalid("Choose how often statements are sent.", field="statement_schedule") from None


def recipients_refusal(schedule: Schedule, recipients: list[str]) -> str | None:
    """A schedule needs at least one address to send to."""
    if schedule is not Schedule.OFF and not recipients:
        return "Enter at least one address to send statements to, or choose “Not by e-mail”."
    return None


def due_period(schedule: Schedule | str, now: datetime, zone: str) -> tuple[date, date] | None:
    """The last whole period the schedule covers at `now` (first and last day, inclusive), or None."""
    schedule = Schedule(schedule)
    today = now.astimezone(ZoneInfo(zone)).date()
    if schedule is Schedule.DAILY:
        day = today - timedelta(days=1)
        return day, day
    if schedule is Schedule.WEEKLY:
        this_monday = today - timedelta(days=today.weekday())
        return this_monday - timedelta(days=7), this_monday - timedelta(days=1)
    if schedule is Schedule.MONTHLY:
        last_day = today.replace(day=1) - timedelta(days=1)
        return last_day.replace(day=1), last_day
    return None


def period_text(start: date, end: date) -> str:
    if start == end:
        return f"{start:%d %b %Y}"
    return f"{start:%d %b %Y} to {end:%d %b %Y}"


def statement_subject(account_code: str, start: date, end: date) -> str:
    return f"Statement {account_code}, {period_text(start, end)}"


def statement_summary(
    *,
    account_code: str,
    account_name: str,
    start: date,
    end: date,
    zone: str,
    statements: Iterable[Statement],
) -> str:
    """The e-mail's body: per currency opening, credits, debits, closing and the number of entries."""
    lines = [
        f"Reconciliation statement of {account_code} — {account_name}",
        f"Period: {period_text(start, end)} ({zone})",
        "",
    ]
    for s in statements:
        lines += [
            f"{s.currency}",
            f"  Opening balance: {s.opening_money}",
            f"  Credits:         {s.credits_money}",
            f"  Debits:          {s.debits_money}",
            f"  Closing balance: {s.closing_money}",
            f"  Entries:         {len(s.lines)}",
            "",
        ]
    lines.append("Every entry is in the attached workbook (XLSX), as Finance → Statement shows it.")
    return "\n".join(lines)
