"""The user guide's table of contents (issue 15, item 6): one page per task, for agents and for
operations. Each page's text is a template (portal/templates/help/pages/<slug>.html) written from the
portal's own labels; its screenshot is portal/static/help/<slug>.png, made from the demo data by
scripts/guide_screenshots.py. The page a task starts on links here with a "?" next to its button."""

from __future__ import annotations

from dataclasses import dataclass

AGENTS = "agents"
OPERATIONS = "operations"
AUDIENCES = {AGENTS: "For agents", OPERATIONS: "For operations"}


@dataclass(frozen=True)
class Task:
    slug: str
    title: str
    audience: str
    starts_on: str  # the page with the "?" next to the task's button, in words

    @property
    def template(self) -> str:
        return f"help/pages/{self.slug}.html"

    @property
    def screenshot(self) -> str:
        return f"help/{self.slug}.png"


TASKS: tuple[Task, ...] = (
    Task("refund", "Refund a booking with the Refund button", AGENTS, "Booking Details"),
    Task("cancel-and-refund", "Cancel & Refund: choose passengers and flights", AGENTS, "Booking Details"),
    Task("refund-claim", "Refund Claim: the airline already refunded", AGENTS, "Cancel & Refund"),
    Task(
        "service-requests", "Service requests: Raise a Request and answer quotes", AGENTS, "Booking Details"
    ),
    Task(
        "batch-refunds",
        "Batch refunds: Initiate a Refund from a file",
        AGENTS,
        "Finance › Refunds › Agent & Passenger Initiated",
    ),
    Task("follow-up", "Follow up a refund the airline has not paid", AGENTS, "Refund Info"),
    Task("statement", "Balance and statement (also by e-mail)", AGENTS, "Finance › Statement"),
    Task("baggage", "Add Baggage to a booking", AGENTS, "Booking Details"),
    Task("schedule-changes", "Schedule changes: Accept change or refund free", AGENTS, "Booking Details"),
    Task("refund-queue", "Work the Refund queue", OPERATIONS, "Operations › Refund queue"),
    Task(
        "request-queue", "Answer service requests and post quotes", OPERATIONS, "Operations › Request queue"
    ),
    Task("baggage-orders", "Confirm or fail Baggage orders", OPERATIONS, "Operations › Baggage orders"),
    Task("ops-schedule-changes", "Follow Schedule changes", OPERATIONS, "Operations › Schedule changes"),
)
BY_SLUG = {task.slug: task for task in TASKS}


def tasks_for(audience: str) -> list[Task]:
    return [task for task in TASKS if task.audience == audience]
