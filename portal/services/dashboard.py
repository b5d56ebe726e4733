"""The home page per role: what waits on the user, as counts that each open the list they count.

Every count asks the same conditions as the list its tile links to (`count_requests` is My Requests'
`_conditions`, `count_refunds` Finance → Refunds' `refund_conditions`, `count_queued` the refund queue's),
so a tile and its list never disagree. One query per tile, on indexed columns: the page is on every login
and polled while it is open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app

from portal.domain.deadlines import describe_duration, overdue_for
from portal.domain.money import Money
from portal.domain.refunds import RefundStatus
from portal.models import RefundBatch, User
from portal.services import accounts, baggage, batch, bookings, finance, refunds, requests, schedule_changes
from portal.services.scope import Scope

# How far back the admin's "imported lately" tile looks.
IMPORT_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Tile:
    """One count and the filtered list it opens (an endpoint and its query, built into a URL by the page)."""

    key: str
    label: str
    count: int
    endpoint: str
    args: dict = field(default_factory=dict)
    hint: str = ""  # a line under the count ("Oldest overdue by 5 h 10 min")
    urgent: bool = False  # shown in red while the count is not zero

    @property
    def tone(self) -> str:
        return "tile-urgent" if self.urgent and self.count else ""


@dataclass(frozen=True)
class Section:
    title: str
    tiles: list[Tile]
    # What to do when every count is zero: the next step, never a blank panel.
    empty_hint: str = ""

    @property
    def all_clear(self) -> bool:
        return not any(t.count for t in self.tiles)


@dataclass(frozen=True)
class Dashboard:
    sections: list[Section]
    balances: list[Money] = field(default_factory=list)
    batches: list[RefundBatch] = field(default_factory=list)
    shows_agency_panel: bool = False  # the balance and the last batches (agents and agency admins)


def _agency_section(scope: Scope) -> Section:
    zone = current_app.config["TIMEZONE"]
    return Section(
        "Waiting on you",
        [
            Tile(
                "quotes",
                "Quotes to answer",
                requests.count_requests(requests.RequestFilters(status="quote"), scope),
                "requests.my_requests",
                {"status": "quote"},
                urgent=True,
            ),
            Tile(
                "follow-ups",
                "Follow-ups available",
                finance.count_refunds(finance.RefundFilters(follow_up="available"), scope, zone),
                "finance.refunds",
                {"tab": "all", "follow_up": "available"},
            ),
            Tile(
                "action-required",
                "Action required bookings",
                bookings.action_required_count(scope),
                "bookings.my_bookings",
                {"status": "action_required"},
                urgent=True,
            ),
            Tile(
                "rejected",
                "Rejected refunds",
                finance.count_refunds(finance.RefundFilters(status=RefundStatus.REJECTED.value), scope, zone),
                "finance.refunds",
                {"tab": "all", "status": RefundStatus.REJECTED.value},
            ),
        ],
        empty_hint=(
            "Nothing waits on you. Refunds start from a booking: open My Bookings, choose the booking and "
            "press Refund (or Cancel & Refund to choose passengers and flights)."
        ),
    )


def _operations_section(now: datetime) -> Section:
    overdue, oldest = refunds.count_queued(refunds.QueueFilters(status="", overdue_only=True))
    to_submit, _ = refunds.count_queued(refunds.QueueFilters(status=RefundStatus.REQUESTED.value))
    return Section(
        "Operations",
        [
            Tile(
                "overdue",
                "Overdue refunds (over 4 hours)",
                overdue,
                "operations.refund_queue",
                {"status": "", "deadline": "overdue"},
                hint=f"Oldest overdue by {describe_duration(overdue_for(oldest, now))}" if oldest else "",
                urgent=True,
            ),
            Tile(
                "to-submit",
                "Refunds to submit",
                to_submit,
                "operations.refund_queue",
                {"status": RefundStatus.REQUESTED.value},
            ),
            Tile(
                "requests",
                "Requests waiting on operations",
                requests.count_requests(requests.RequestFilters(status="waiting"), Scope.everything()),
                "request_ops.request_queue",
                {"status": "waiting"},
            ),
            Tile(
                "baggage",
                "Baggage to confirm",
                baggage.count_orders(baggage.QueueFilters(status="requested")),
                "baggage.baggage_queue_page",
                {"status": "requested"},
            ),
            Tile(
                "schedule-changes",
                "Schedule changes unanswered",
                schedule_changes.count_changes(schedule_changes.ChangeFilters(state="open")),
                "changes.schedule_changes",
                {"state": "open"},
            ),
        ],
        empty_hint="The queues are empty: nothing waits on operations.",
    )


def _admin_section(now: datetime) -> Section:
    return Section(
        "Administration",
        [
            Tile(
                "imports",
                "Bookings imported in the last 24 hours",
                bookings.count_imported_since(now - IMPORT_WINDOW),
                "admin.import_file",
            ),
            Tile("users", "Active users", accounts.count_active_users(), "admin.users"),
        ],
    )


def dashboard(user: User, scope: Scope, now: datetime) -> Dashboard:
    """The home page of `user`: operations' queues for staff (and imports and users for admins); for an
    agency's people what waits on them, their balance and their last batch uploads."""
    if user.is_staff:
        sections = [_operations_section(now)]
        if user.is_admin:
            sections.append(_admin_section(now))
        return Dashboard(sections)
    return Dashboard(
        [_agency_section(scope)],
        balances=finance.balance_list(user.account),
        batches=batch.recent_batches(scope, limit=3),
        shows_agency_panel=True,
    )
