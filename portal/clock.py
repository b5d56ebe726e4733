"""The portal's one clock: every "now" and "today" in models, services, jobs and views comes from here.

Tests freeze it (`with clock.frozen(moment): ...`) instead of patching datetime; production reads the
system time in UTC. "Today" is the date where the portal's users are (PORTAL_TIMEZONE), not UTC's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

_frozen: datetime | None = None


def utcnow() -> datetime:
    """The current instant, timezone-aware in UTC (or the frozen instant in a test)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def today_in(zone: str, now: datetime | None = None) -> date:
    """The calendar date in `zone` at `now` (default: the clock's now)."""
    return (now or utcnow()).astimezone(ZoneInfo(zone)).date()


@contextmanager
def frozen(moment: datetime) -> Iterator[datetime]:
    """Stop the clock at `moment` (aware) for the duration of the block; nests and restores."""
    global _frozen
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("the clock is frozen at an aware moment")
    before, _frozen = _frozen, moment.astimezone(UTC)
    try:
        yield _frozen
    finally:
        _frozen = before
