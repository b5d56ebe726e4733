"""The deadlines that drive the work (SPEC 3.5), computed from stored UTC times.

- 24 hours: a flight departing that soon gets the urgent notice on Booking Details.
- 4 hours: an operator refund still `requested` that long after the host received it is overdue.
- 21 days: a refund may be followed up from 21 days after it was submitted to the host.
- 72 hours: a request left `Processed` that long with no agency reply is completed.
Durations are exact elapsed time (UTC), so daylight-saving changes in the user's zone move only how
a deadline is *shown*, never when it falls.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

URGENT_NOTICE_WITHIN = timedelta(hours=24)
OVERDUE_AFTER = timedelta(hours=4)
FOLLOW_UP_AFTER = timedelta(days=21)
AUTO_COMPLETE_AFTER = timedelta(hours=72)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("deadlines are computed from aware (UTC) times")
    return moment


def needs_urgent_notice(departure_utc: datetime, now: datetime) -> bool:
    """True while a flight departs within the next 24 hours: Booking Details then advises the airline's
    own manage-booking service for urgent changes (SPEC 2)."""
    return _aware(now) <= _aware(departure_utc) <= now + URGENT_NOTICE_WITHIN


def overdue_at(received_at: datetime) -> datetime:
    """When an operator refund received at `received_at` becomes overdue if still requested."""
    return _aware(received_at) + OVERDUE_AFTER


def is_overdue(received_at: datetime, now: datetime) -> bool:
    """True from exactly 4:00:00 after receipt (3:59:59 is still in time)."""
    return _aware(now) >= overdue_at(received_at)


def follow_up_from(submitted_at: datetime) -> datetime:
    """The first moment a refund submitted at `submitted_at` may be followed up."""
    return _aware(submitted_at) + FOLLOW_UP_AFTER


def follow_up_cutoff(now: datetime) -> datetime:
    """Refunds submitted at or before this moment may be followed up now (can_follow_up, for a WHERE)."""
    return _aware(now) - FOLLOW_UP_AFTER


def can_follow_up(submitted_at: datetime, now: datetime) -> bool:
    """True from day 21 (exactly 21 x 24 hours after submission)."""
    return _aware(now) >= follow_up_from(submitted_at)


def local_date(moment: datetime, zone: str) -> date:
    """The calendar date of `moment` in `zone` (what 'available from <date>' shows)."""
    return _aware(moment).astimezone(ZoneInfo(zone)).date()


def overdue_for(received_at: datetime, now: datetime) -> timedelta:
    """How long past the 4-hour deadline (zero when not overdue)."""
    late = _aware(now) - overdue_at(received_at)
    return late if late > timedelta(0) else timedelta(0)


def describe_duration(delta: timedelta) -> str:
    """'2 h 05 min', '3 d 4 h' — short, for queue badges."""
    minutes = int(delta.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min"
