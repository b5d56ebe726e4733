"""The date bounds that let a list's WHERE ask the same rule as a single object."""

from datetime import UTC, datetime, timedelta

from portal.domain.deadlines import can_follow_up, follow_up_cutoff
from portal.domain.requests import first_open_valid_until, quote_expired


def test_the_first_open_valid_until_day_is_quote_expireds_bound():
    start = datetime(2026, 3, 1, tzinfo=UTC)
    for step in range(0, 4 * 24 * 4):  # every 15 minutes over four days, midnights and noons included
        now = start + timedelta(minutes=15 * step)
        first = first_open_valid_until(now)
        assert not quote_expired(first, now)
        assert quote_expired(first - timedelta(days=1), now)


def test_the_follow_up_cutoff_is_can_follow_ups_bound():
    now = datetime(2026, 3, 22, 9, 30, tzinfo=UTC)
    assert can_follow_up(follow_up_cutoff(now), now)
    assert not can_follow_up(follow_up_cutoff(now) + timedelta(seconds=1), now)
