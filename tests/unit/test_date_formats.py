"""The `strftime` filter (and `user_time`, which ends in it) writes the lists' formats without calling
strftime: its text must be strftime's own, for every date and time."""

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from portal.filters import strftime, user_time

FORMATS = ["%d %b %Y", "%d %b %Y %H:%M"]


@given(moment=st.datetimes(), fmt=st.sampled_from(FORMATS))
def test_the_lists_formats_read_as_strftime_writes_them(moment, fmt):
    assert strftime(moment, fmt) == moment.strftime(fmt)


@given(day=st.dates(), fmt=st.sampled_from(FORMATS))
def test_dates_too(day, fmt):
    assert strftime(day, fmt) == day.strftime(fmt)


def test_every_month_and_a_short_year():
    for month in range(1, 13):
        moment = datetime(2026, month, 1, 0, 5)
        assert strftime(moment, "%d %b %Y %H:%M") == moment.strftime("%d %b %Y %H:%M")
    assert strftime(date(999, 1, 2), "%d %b %Y") == date(999, 1, 2).strftime("%d %b %Y")


def test_other_formats_are_strftimes(app):
    moment = datetime(2026, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=8)))
    assert strftime(moment, "%Y-%m-%d %H:%M:%S %z") == "2026-03-04 05:06:00 +0800"
    with app.app_context():  # the portal's zone in the tests: Asia/Singapore, UTC+8
        assert user_time(datetime(2026, 12, 31, 16, 30, tzinfo=UTC)) == "01 Jan 2027 00:30"
        assert user_time(datetime(2026, 12, 31, 16, 30, tzinfo=UTC), "%d %b %Y") == "01 Jan 2027"
        assert user_time(None) == "—"
