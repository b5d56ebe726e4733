"""Deadline arithmetic: exact boundaries, time zones and daylight-saving changes."""

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from portal.domain.deadlines import (
    can_follow_up,
    describe_duration,
    follow_up_from,
    is_overdue,
    local_date,
    overdue_for,
)

RECEIVED = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("elapsed", "overdue"),
    [
        (timedelta(hours=3, minutes=59, seconds=59), False),
        (timedelta(hours=4), True),
        (timedelta(hours=4, seconds=1), True),
        (timedelta(0), False),
    ],
)
def test_four_hour_boundary(elapsed, overdue):
    assert is_overdue(RECEIVED, RECEIVED + elapsed) is overdue


@pytest.mark.parametrize(
    ("elapsed", "allowed"),
    [
        (timedelta(days=20, hours=23, minutes=59, seconds=59), False),
        (timedelta(days=21), True),
        (timedelta(days=20), False),
        (timedelta(days=30), True),
    ],
)
def test_twenty_one_day_boundary(elapsed, allowed):
    assert can_follow_up(RECEIVED, RECEIVED + elapsed) is allowed


def test_offsets_do_not_matter_only_instants():
    same_moment = RECEIVED.astimezone(timezone(timedelta(hours=8)))
    assert is_overdue(same_moment, RECEIVED + timedelta(hours=4))
    assert follow_up_from(same_moment) == follow_up_from(RECEIVED)


def test_across_a_daylight_saving_change_the_deadline_is_elapsed_time():
    # Submitted in London the day before clocks go forward (29 Mar 2026, 01:00 UTC).
    submitted = datetime(2026, 3, 28, 23, 30, tzinfo=UTC)  # 23:30 GMT
    available = follow_up_from(submitted)
    assert available - submitted == timedelta(days=21)
    # Shown in London it is 00:30 BST on 19 April: one calendar day later than naive date arithmetic.
    assert local_date(available, "Europe/London") == date(2026, 4, 19)
    assert local_date(available, "UTC") == date(2026, 4, 18)


def test_across_autumn_change_four_hours_is_four_hours():
    received = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST, clocks go back at 01:00 UTC
    assert not is_overdue(received, received + timedelta(hours=3, minutes=59))
    assert is_overdue(received, datetime(2026, 10, 25, 4, 30, tzinfo=UTC))


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        is_overdue(datetime(2026, 1, 1), RECEIVED)


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(minutes=5), "5 min"),
        (timedelta(hours=2, minutes=5), "2 h 05 min"),
        (timedelta(days=3, hours=4, minutes=10), "3 d 4 h"),
    ],
)
def test_describe_duration(delta, text):
    assert describe_duration(delta) == text


def test_overdue_for():
    assert overdue_for(RECEIVED, RECEIVED + timedelta(hours=3)) == timedelta(0)
    assert overdue_for(RECEIVED, RECEIVED + timedelta(hours=6)) == timedelta(hours=2)
