"""Service-request rules (SPEC section 4): statuses and their transitions, who may take each action,
what each category behaviour does, the one-open-request rule, and posted quotes.

Pure Python: callers pass plain values and get values or typed errors back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from portal.domain.deadlines import AUTO_COMPLETE_AFTER
from portal.domain.errors import Conflict, DomainError, NotPermitted
from portal.domain.money import Money, TypedAmountError, decimals_phrase, parse_typed_amount
from portal.domain.refunds import RefundPath, path_refusal

# --- Statuses and transitions ------------------------------------------------------------------------


class RequestStatus(StrEnum):
    NEW = "new"
    IN_PROCESS = "in_process"
    PROCESSED = "processed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


STATUS_LABELS: Mapping[RequestStatus, str] = MappingProxyType(
    {
        RequestStatus.NEW: "New",
        RequestStatus.IN_PROCESS: "In process",
        RequestStatus.PROCESSED: "Processed",
        RequestStatus.COMPLETED: "Completed",
        RequestStatus.CANCELLED: "Cancelled",
    }
)

OPEN_STATUSES = frozenset({RequestStatus.NEW, RequestStatus.IN_PROCESS, RequestStatus.PROCESSED})
CLOSED_STATUSES = frozenset(RequestStatus) - OPEN_STATUSES
# Whose move it is: New and In process wait on operations; Processed waits on the agency's reply.
WAITING_ON_OPERATIONS = frozenset({RequestStatus.NEW, RequestStatus.IN_PROCESS})


class RequestAction(StrEnum):
    # operations
    TAKE = "take"
    START = "start"
    MARK_PROCESSED = "mark_processed"
    COMPLETE = "complete"
    OPS_REPLY = "ops_reply"
    INTERNAL_NOTE = "internal_note"
    POST_QUOTE = "post_quote"
    # agency
    AGENCY_REPLY = "agency_reply"
    CANCEL = "cancel"
    ACCEPT_QUOTE = "accept_quote"
    DECLINE_QUOTE = "decline_quote"


AGENCY_ACTIONS = frozenset(
    {
        RequestAction.AGENCY_REPLY,
        RequestAction.CANCEL,
        RequestAction.ACCEPT_QUOTE,
        RequestAction.DECLINE_QUOTE,
    }
)
OPERATIONS_ACTIONS = frozenset(RequestAction) - AGENCY_ACTIONS

# The status-changing actions operations pick from a list, with their button labels.
STATUS_ACTION_LABELS: Mapping[RequestAction, str] = MappingProxyType(
    {
        RequestAction.START: "Start processing",
        RequestAction.MARK_PROCESSED: "Mark processed",
        RequestAction.COMPLETE: "Complete",
    }
)

# How an action reads after "A request that is <status> cannot ...".
_ACTION_REFUSED: Mapping[RequestAction, str] = MappingProxyType(
    {
        RequestAction.TAKE: "be taken",
        RequestAction.START: "be started",
        RequestAction.MARK_PROCESSED: "be marked processed",
        RequestAction.COMPLETE: "be completed",
        RequestAction.OPS_REPLY: "be answered",
        RequestAction.INTERNAL_NOTE: "get an internal note",
        RequestAction.POST_QUOTE: "get a quote",
        RequestAction.AGENCY_REPLY: "get a reply; raise a new request instead",
        RequestAction.CANCEL: "be cancelled (only a New request can be)",
        RequestAction.ACCEPT_QUOTE: "have its quote accepted",
        RequestAction.DECLINE_QUOTE: "have its quote declined",
    }
)

_N, _I, _P, _C, _X = (
    RequestStatus.NEW,
    RequestStatus.IN_PROCESS,
    RequestStatus.PROCESSED,
    RequestStatus.COMPLETED,
    RequestStatus.CANCELLED,
)

# (status, action) -> status. Messages, notes and taking keep the status except where listed; an
# agency reply to a Processed request reopens it; a posted quote waits for the agency as Processed.
TRANSITIONS: Mapping[tuple[RequestStatus, RequestAction], RequestStatus] = MappingProxyType(
    {
        (_N, RequestAction.TAKE): _I,
        (_I, RequestAction.TAKE): _I,
        (_P, RequestAction.TAKE): _P,
        (_N, RequestAction.START): _I,
        (_I, RequestAction.MARK_PROCESSED): _P,
        (_P, RequestAction.COMPLETE): _C,
        (_N, RequestAction.OPS_REPLY): _N,
        (_I, RequestAction.OPS_REPLY): _I,
        (_P, RequestAction.OPS_REPLY): _P,
        (_N, RequestAction.INTERNAL_NOTE): _N,
        (_I, RequestAction.INTERNAL_NOTE): _I,
        (_P, RequestAction.INTERNAL_NOTE): _P,
        (_C, RequestAction.INTERNAL_NOTE): _C,
        (_X, RequestAction.INTERNAL_NOTE): _X,
        (_N, RequestAction.POST_QUOTE): _P,
        (_I, RequestAction.POST_QUOTE): _P,
        (_P, RequestAction.POST_QUOTE): _P,
        (_N, RequestAction.AGENCY_REPLY): _N,
        (_I, RequestAction.AGENCY_REPLY): _I,
        (_P, RequestAction.AGENCY_REPLY): _I,
        (_N, RequestAction.CANCEL): _X,
        # After the answer operations carry on: submit the refund, or quote again.
        (_P, RequestAction.ACCEPT_QUOTE): _I,
        (_P, RequestAction.DECLINE_QUOTE): _I,
        # The agency may have asked about the quote first (a reply reopens the request).
        (_I, RequestAction.ACCEPT_QUOTE): _I,
        (_I, RequestAction.DECLINE_QUOTE): _I,
    }
)


class RequestTransitionError(Conflict):
    """An action the request's status does not allow; the message is fit for a user."""

    def __init__(self, status: RequestStatus, action: RequestAction):
        self.status, self.action = status, action
        super().__init__(f"A request that is {STATUS_LABELS[status]} cannot {_ACTION_REFUSED[action]}.")


class ActionNotPermitted(NotPermitted):
    """The user's side (agency or operations) may not take this action."""

    def __init__(self, action: RequestAction, staff: bool):
        self.action = action
        who = "Operations" if staff else "The agency"
        super().__init__(f"{who} cannot do that on a request.")


def next_status(status: RequestStatus | str, action: RequestAction | str) -> RequestStatus:
    """The status after `action`; RequestTransitionError when the status does not allow it."""
    status, action = RequestStatus(status), RequestAction(action)
    try:
        return TRANSITIONS[status, action]
    except KeyError:
        raise RequestTransitionError(status, action) from None


def check_actor(action: RequestAction | str, *, staff: bool) -> None:
    """Operations act for the host, agents for their agency; ActionNotPermitted otherwise."""
    action = RequestAction(action)
    if action not in (OPERATIONS_ACTIONS if staff else AGENCY_ACTIONS):
        raise ActionNotPermitted(action, staff)


def allowed(status: RequestStatus | str, action: RequestAction | str) -> bool:
    return (RequestStatus(status), RequestAction(action)) in TRANSITIONS


def is_open(status: RequestStatus | str) -> bool:
    return RequestStatus(status) in OPEN_STATUSES


def cancel_refusal(status: RequestStatus | str, refund_codes: Sequence[str] = ()) -> str | None:
    """Why the agency may not cancel a request that its status would let it cancel, or None.

    refund_codes: the refunds the request created (Agent & Passenger Initiated Refund on submit, an
    accepted Cancel & Refund quote). A submitted refund cannot be withdrawn, and cancelling its request
    would leave it running unexplained, so such a request stays open for operations to work.
    The status rule itself (only while New) is the workflow table's; this says nothing about it.
    """
    if not allowed(status, RequestAction.CANCEL) or not refund_codes:
        return None
    codes = ", ".join(refund_codes)
    return (
        f"This request cannot be cancelled: refund {codes} was submitted from it, and a submitted refund "
        "cannot be withdrawn. Reply below if something is wrong."
    )


def agency_may_cancel(status: RequestStatus | str, refund_codes: Sequence[str] = ()) -> bool:
    """Whether the agency may cancel the request: only while New, and only if it created no refund."""
    return allowed(status, RequestAction.CANCEL) and cancel_refusal(status, refund_codes) is None


class CancelRefused(Conflict):
    """The agency tried to cancel a request whose refund exists."""


def agency_may_reply(status: RequestStatus | str) -> bool:
    """Whether the agency may add a reply to the thread (the workflow table: while the request is open)."""
    return allowed(status, RequestAction.AGENCY_REPLY)


def agency_reply_reopens(status: RequestStatus | str) -> bool:
    """Whether an agency reply moves the request back (Processed -> In process): the form says so."""
    status = RequestStatus(status)
    return (
        allowed(status, RequestAction.AGENCY_REPLY)
        and next_status(status, RequestAction.AGENCY_REPLY) != status
    )


def status_actions(status: RequestStatus | str) -> tuple[RequestAction, ...]:
    """The status changes operations may pick for a request in this status."""
    return tuple(a for a in STATUS_ACTION_LABELS if allowed(status, a))


# --- One open request per booking and category -------------------------------------------------------


class OpenRequestExists(Conflict):
    """The booking already has an open request of this category."""

    def __init__(self, number: str):
        self.number = number
        super().__init__(
            f"This booking already has an open request of this category ({number}). "
            "Add to that request instead of raising a second one."
        )


# --- Category behaviours -----------------------------------------------------------------------------


class CategoryBehaviour(StrEnum):
    GENERAL = "general"
    CANCEL_REFUND = "cancel_refund"
    AGENT_REFUND = "agent_refund"
    BAGGAGE = "baggage"


BEHAVIOUR_LABELS: Mapping[CategoryBehaviour, str] = MappingProxyType(
    {
        CategoryBehaviour.GENERAL: "General (a thread only)",
        CategoryBehaviour.CANCEL_REFUND: "Cancel & refund (operations quote, the agency accepts)",
        CategoryBehaviour.AGENT_REFUND: "Agent & passenger refund (creates the refund on submit)",
        CategoryBehaviour.BAGGAGE: "Baggage (a thread only)",
    }
)


@dataclass(frozen=True, slots=True)
class BehaviourRule:
    takes_quote: bool  # operations post a quote the agency accepts or declines
    refund_on_submit: RefundPath | None  # submitting creates a refund on this path
    needs_passengers: bool
    hint: str  # shown in the form when the category is chosen
    needs_description: bool = True  # "Describe the issue" must be filled

    @property
    def creates_refund(self) -> bool:
        """Submitting a request of this behaviour creates its refund (it cannot be withdrawn)."""
        return self.refund_on_submit is not None


BEHAVIOURS: Mapping[CategoryBehaviour, BehaviourRule] = MappingProxyType(
    {
        CategoryBehaviour.GENERAL: BehaviourRule(
            False, None, False, "Operations will answer in the request's thread."
        ),
        CategoryBehaviour.BAGGAGE: BehaviourRule(
            False, None, False, "Operations will answer in the request's thread."
        ),
        CategoryBehaviour.CANCEL_REFUND: BehaviourRule(
            True,
            None,
            True,
            "Operations will post a quote for the chosen passengers; you then accept it (the refund is "
            "submitted) or decline it.",
        ),
        CategoryBehaviour.AGENT_REFUND: BehaviourRule(
            False,
            RefundPath.AGENT_REQUEST,
            True,
            "Use this when the refund was already submitted to the airline. Submitting creates the refund "
            "for the chosen passengers' unflown segments; it cannot be withdrawn. A description is optional.",
            needs_description=False,
        ),
    }
)


def behaviour_rule(behaviour: CategoryBehaviour | str) -> BehaviourRule:
    return BEHAVIOURS[CategoryBehaviour(behaviour)]


def description_required(behaviour: CategoryBehaviour | str | None) -> bool:
    """Whether "Describe the issue" must be filled: yes unless the chosen category's behaviour says not
    (None, no category chosen yet: yes)."""
    return behaviour is None or behaviour_rule(behaviour).needs_description


# The paths on which a request itself creates a refund: a behaviour's refund on submit, and an accepted
# quote. A refund only linked to a request later (a follow-up's request) was not created by it.
REQUEST_REFUND_PATHS = frozenset(
    {RefundPath.REQUEST_QUOTE}
    | {rule.refund_on_submit for rule in BEHAVIOURS.values() if rule.refund_on_submit is not None}
)


def created_by_request(path: RefundPath | str) -> bool:
    """True when a refund on this path, linked to a request, was created by that request."""
    return RefundPath(path) in REQUEST_REFUND_PATHS


def same_name_key(label: str) -> str:
    """What two names of one admin list compare by: case and spacing do not make a different name
    ("Name  correction" is "Name Correction")."""
    return " ".join((label or "").split()).casefold()


def duplicate_name(label: str, others: Iterable[str]) -> str | None:
    """The name among others that label repeats (same_name_key), or None."""
    key = same_name_key(label)
    return next((other for other in others if same_name_key(other) == key), None)


def submit_refusal(behaviour: CategoryBehaviour | str, payment_channel: str) -> str | None:
    """Why a request of this behaviour cannot be raised on an order paid by this channel, or None."""
    path = behaviour_rule(behaviour).refund_on_submit
    return path_refusal(path, payment_channel) if path is not None else None


# --- Posted quotes -----------------------------------------------------------------------------------


class QuoteStatus(StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    SUPERSEDED = "superseded"


QUOTE_STATUS_LABELS: Mapping[QuoteStatus, str] = MappingProxyType(
    {
        QuoteStatus.OPEN: "Awaiting your answer",
        QuoteStatus.ACCEPTED: "Accepted",
        QuoteStatus.DECLINED: "Declined",
        QuoteStatus.SUPERSEDED: "Replaced by a newer quote",
    }
)


class QuoteError(DomainError):
    """A quote that cannot be posted or answered; the message is for the user."""


class QuoteClosed(QuoteError, Conflict):
    """A quote that can no longer be answered (already answered, replaced, expired): a conflict with its
    state (409), not bad input."""


MAX_AMOUNT = Decimal("9999999999.99")


def parse_amount(raw: str | None, who: str, currency: str, *, field: str | None = None) -> Decimal:
    """A non-negative amount with at most the currency's decimals, from what a user typed; a refusal
    names `field` (the passenger's amount input) so the form shows it there."""
    try:
        amount = parse_typed_amount(raw, currency)
    except TypedAmountError as exc:
        message = {
            "empty": f"Enter the refund amount for {who}.",
            "not_a_number": f"Enter the amount for {who} as a number such as 315.00.",
            "too_precise": f"Enter the amount for {who} with {decimals_phrase(currency)}.",
            "too_large": f"Enter a non-negative amount for {who}.",
        }[exc.reason]
        raise QuoteError(message, field=field) from None
    if amount < 0 or amount > MAX_AMOUNT:
        raise QuoteError(f"Enter a non-negative amount for {who}.", field=field)
    return amount


def check_not_in_refund(who: str, refund_codes: Sequence[str], *, field: str | None = None) -> None:
    """Refuse a quote line for a passenger whose flights are already in a live refund, naming it: the
    quote would price the whole ticket again (QuoteError under `field`)."""
    if refund_codes:
        raise QuoteError(
            f"{who} is already in refund {', '.join(refund_codes)}, so a quote cannot include them; leave "
            "their amount empty.",
            field=field,
        )


def quote_ceiling(base: Money, taxes: Money) -> Money:
    """The most a quote may give back for one passenger: what the ticket cost, fare and taxes."""
    return base + taxes


def check_quote_ceiling(amount: Decimal, ceiling: Money, who: str, *, field: str | None = None) -> None:
    """Refuse a quoted amount above the passenger's fare and taxes (QuoteError under `field`)."""
    if amount > ceiling.amount:
        raise QuoteError(
            f"Enter at most {ceiling} for {who}: a refund cannot exceed the fare and taxes paid for the "
            "ticket.",
            field=field,
        )


def check_valid_until(valid_until: date | None, today: date) -> date:
    if valid_until is None:
        raise QuoteError("Enter the date the quote is valid until.", field="valid_until")
    if valid_until < today:
        raise QuoteError("The quote's validity date cannot be in the past.", field="valid_until")
    return valid_until


def quote_expires_at(valid_until: date) -> datetime:
    """A quote is good through its whole last day, wherever the agency is (the day's end at UTC−12)."""
    return datetime.combine(valid_until + timedelta(days=1), time.min, UTC) + timedelta(hours=12)


def quote_expired(valid_until: date, now: datetime) -> bool:
    """True once a quote valid until `valid_until` can no longer be answered."""
    return now > quote_expires_at(valid_until)


def first_open_valid_until(now: datetime) -> date:
    """The earliest "valid until" day of a quote that has not expired at `now` (quote_expired's bound as
    a date, for a list's WHERE clause)."""
    day = (now - timedelta(hours=36)).date()
    return day if not quote_expired(day, now) else day + timedelta(days=1)


def auto_complete_at(
    status: RequestStatus | str, processed_at: datetime | None, open_quote_valid_until: date | None = None
) -> datetime | None:
    """When a request is completed automatically if nobody replies (SPEC 3.5); None unless Processed.

    72 hours after it was processed; while it waits on an open quote, 72 hours after that quote expires
    (the later of the two): the agency keeps the quote's whole validity to answer, and then the usual 72
    hours to ask for a new quote, as the page invites it to once the quote has expired.
    """
    if RequestStatus(status) is not RequestStatus.PROCESSED or processed_at is None:
        return None
    start = processed_at
    if open_quote_valid_until is not None:
        start = max(start, quote_expires_at(open_quote_valid_until))
    return start + AUTO_COMPLETE_AFTER


def may_auto_complete(
    status: RequestStatus | str,
    processed_at: datetime | None,
    open_quote_valid_until: date | None,
    now: datetime,
) -> bool:
    """Whether the 72-hour job may complete the request now. The request page offers Accept and Decline
    for as long as the quote has not expired, and that is never after this becomes True: both ask
    quote_expires_at()."""
    due = auto_complete_at(status, processed_at, open_quote_valid_until)
    return due is not None and now >= due


# The request statuses in which the agency may answer an open quote (agency_may_answer_quote's first part).
QUOTE_ANSWERABLE_STATUSES = frozenset(
    s
    for s in RequestStatus
    if allowed(s, RequestAction.ACCEPT_QUOTE) and allowed(s, RequestAction.DECLINE_QUOTE)
)


def agency_may_answer_quote(
    request_status: RequestStatus | str, quote_status: QuoteStatus | str, valid_until: date, now: datetime
) -> bool:
    """Whether the agency may accept or decline the quote now: the request's status allows an answer, the
    quote is open and has not expired (what accept_quote and decline_quote check, as a yes or no)."""
    return (
        allowed(request_status, RequestAction.ACCEPT_QUOTE)
        and allowed(request_status, RequestAction.DECLINE_QUOTE)
        and QuoteStatus(quote_status) is QuoteStatus.OPEN
        and not quote_expired(valid_until, now)
    )


def quote_answerable(status: QuoteStatus | str, valid_until_end: datetime, now: datetime) -> None:
    """Refuse an answer to a quote that is no longer open or has expired (QuoteError)."""
    status = QuoteStatus(status)
    if status is not QuoteStatus.OPEN:
        raise QuoteClosed(f"This quote can no longer be answered: {QUOTE_STATUS_LABELS[status].lower()}.")
    if now > valid_until_end:
        raise QuoteClosed("This quote has expired. Reply in the request to ask operations for a new quote.")
