"""Jinja filters: money and times shown the way the trade reads them."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from portal.domain.money import Money


def money(value: Money | None) -> str:
    """'SGD 1,234.50', 'JPY 15,000': an amount is always printed with its currency.

    Only Money is accepted: a bare Decimal raises TypeError, so an amount about to be shown without its
    currency fails loudly (and in tests) instead.
    """
    if value is None:
        return "—"
    if not isinstance(value, Money):
        raise TypeError(f"the money filter takes Money, not {type(value).__name__}: {value!r}")
    return str(value)


def offset_label(moment: datetime) -> str:
    minutes = int(moment.utcoffset().total_seconds() // 60)
    sign = "+" if minutes >= 0 else "−"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{mins:02d}"


def airport_time(moment: datetime | None) -> str:
    """A local airport time with its offset: '10 Jan 2027 09:25 (UTC+08:00)'."""
    if moment is None:
        return "—"
    return f"{moment:%d %b %Y %H:%M} ({offset_label(moment)})"


_MONTHS = ("", "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The formats the pages use on every row of a list, written without strftime (which reads the locale's
# month names for each call: about 2 µs, 50 calls on a page of bookings). Same text as strftime's in the C
# locale, which is the only one the portal runs in (nothing calls setlocale).
_DATE_FORMATS = {"%d %b %Y": lambda t: f"{t.day:02d} {_MONTHS[t.month]} {t.year}"}
_FORMATS = {
    **_DATE_FORMATS,
    "%d %b %Y %H:%M": lambda t: f"{t.day:02d} {_MONTHS[t.month]} {t.year} {t.hour:02d}:{t.minute:02d}",
}


def strftime(moment: datetime | date, fmt: str) -> str:
    """`moment.strftime(fmt)`, quicker for the formats the lists use."""
    fast = (_FORMATS if isinstance(moment, datetime) else _DATE_FORMATS).get(fmt)
    return moment.strftime(fmt) if fast is None else fast(moment)


def user_time(moment: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored UTC time shown in the portal's zone (PORTAL_TIMEZONE)."""
    if moment is None:
        return "—"
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return strftime(moment.astimezone(zone), fmt)


def init_app(app) -> None:
    app.add_template_filter(money, "money")
    app.add_template_filter(airport_time, "airport_time")
    app.add_template_filter(user_time, "user_time")
    app.add_template_filter(strftime, "strftime")
    app.add_template_filter(offset_label, "offset_label")
