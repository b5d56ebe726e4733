"""Jinja filters: money and times shown the way the trade reads them."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app


def money(amount: Decimal | None, currency: str | None = None) -> str:
    if amount is None:
        return "—"
    text = f"{amount:,.2f}"
    return f"{currency} {text}" if currency else text


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


def user_time(moment: datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored UTC time shown in the portal's zone (PORTAL_TIMEZONE)."""
    if moment is None:
        return "—"
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return moment.astimezone(zone).strftime(fmt)


def init_app(app) -> None:
    app.add_template_filter(money, "money")
    app.add_template_filter(airport_time, "airport_time")
    app.add_template_filter(user_time, "user_time")
    app.add_template_filter(offset_label, "offset_label")
