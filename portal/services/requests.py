"""Service requests: raising them (with the refund an Agent & Passenger Initiated Refund creates), the
thread, operations' actions and quotes, the agency's answer, the lists, and the admin-managed
categories and refund-claim reasons. Flushes, never commits (the view does)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.clock import utcnow
from portal.domain.errors import DomainError
from portal.domain.money import Money
from portal.domain.refunds import RefundPath, fare_facts
from portal.domain.requests import (
    OPEN_STATUSES,
    QUOTE_ANSWERABLE_STATUSES,
    WAITING_ON_OPERATIONS,
    CancelRefused,
    OpenRequestExists,
    QuoteClosed,
    QuoteError,
    QuoteStatus,
    RequestAction,
    RequestStatus,
    RequestTransitionError,
    behaviour_rule,
    cancel_refusal,
    check_actor,
    check_not_in_refund,
    check_quote_ceiling,
    check_valid_until,
    description_required,
    first_open_valid_until,
    next_status,
    parse_amount,
    quote_answerable,
    quote_ceiling,
    quote_expires_at,
    submit_refusal,
)
from portal.extensions import db
from portal.links import path_for
from portal.models import (
    Booking,
    Passenger,
    Refund,
    RequestAttachment,
    RequestCategory,
    RequestEvent,
    RequestMessage,
    RequestQuote,
    RequestQuoteLine,
    ServiceRequest,
    User,
)
from portal.services.coupons import live_refund_codes
from portal.services.documents import UploadRejected, save_document
from portal.services.notifications import account_agents, notify, staff_users
from portal.services.paging import Page, Slice, Sort, SortOptions, clamp, count
from portal.services.refunds import (
    RefundError,
    compute_quote,
    create_refund,
    portal_today,
    whole_passengers,
)
from portal.services.scope import Scope
from portal.services.search import search_key, starts_with
from portal.services.transitions import claim
from portal.services.webhooks import emit, instant, money

OPEN_VALUES = sorted(s.value for s in OPEN_STATUSES)
MAX_DESCRIPTION = 5000
MAX_MESSAGE = 5000
MAX_ATTACHMENTS = 5


class RequestError(DomainError):
    """A request action that cannot be done; the message is for the user."""


# --- Raising a request -----------------------------------------------------------------------------


def _open_request_number(booking_id: int, category_id: int) -> str | None:
    return db.session.scalar(
        select(ServiceRequest.number).where(
            ServiceRequest.booking_id == booking_id,
            ServiceRequest.category_id == category_id,
            ServiceRequest.status.in_(OPEN_VALUES),
        )
    )


def open_request_for(booking: Booking, category: RequestCategory) -> str | None:
    """The number of the booking's open request of this category, if there is one."""
    return _open_request_number(booking.id, category.id)


def _chosen_passengers(booking: Booking, refs: list[str]) -> list[Passenger]:
    by_ref = {p.ref: p for p in booking.passengers}
    unknown = [r for r in refs if r not in by_ref]
    if unknown:
        raise RequestError(f"Passenger {', '.join(unknown)} is not on this booking.", field="passengers")
    return [p for p in booking.passengers if p.ref in set(refs)]


def _attach(req: ServiceRequest, files, user: User, message: RequestMessage | None = None) -> None:
    files = [f for f in (files or []) if getattr(f, "filename", None)]
    if len(files) > MAX_ATTACHMENTS:
        raise RequestError(f"Attach at most {MAX_ATTACHMENTS} files at a time.", field="attachments")
    for upload in files:
        try:
            document = save_document(upload, account_id=req.account_id, uploaded_by_id=user.id)
        except UploadRejected as exc:
            # The view rolls back, which removes any file already stored.
            exc.field = exc.field or "attachments"
            raise
        req.attachments.append(RequestAttachment(message=message, document=document))


def _webhook(req: ServiceRequest, event_type: str, now: datetime, **extra) -> None:
    """The agency's webhooks hear of it, in this transaction (services/webhooks.emit)."""
    data = {
        "request_number": req.number,
        "order_number": req.booking.order_number,
        "category": req.category.code,
        "status": req.status,
    }
    emit(req.account_id, event_type, {**data, **extra}, now)


def _event(req: ServiceRequest, user: User | None, now: datetime, kind: str, before: str | None, **kw):
    if before is not None and req.status != before:
        _webhook(req, "request.status_changed", now, previous_status=before)
    req.events.append(
        RequestEvent(
            actor_id=user.id if user else None,
            at=now,
            kind=kind,
            from_status=before,
            to_status=req.status,
            note=kw.get("note"),
            refund_id=kw.get("refund_id"),
        )
    )


def create_request(
    booking: Booking,
    category: RequestCategory | None,
    *,
    user: User,
    description: str,
    passenger_refs: list[str],
    files=(),
    now: datetime | None = None,
) -> ServiceRequest:
    """Raise a request on a booking (SPEC 4) and, for an Agent & Passenger Initiated Refund, its refund.

    Raises RequestError, OpenRequestExists, RefundError (from the refund rules) or UploadRejected.
    The open-request unique index is the last word when two submissions race.
    """
    now = now or utcnow()
    if category is None or category.parent_id is None or not category.active:
        raise RequestError("Choose a category.", field="category")
    text = (description or "").strip()
    if not text and description_required(category.behaviour):
        raise RequestError("Describe the issue.", field="description")
    if len(text) > MAX_DESCRIPTION:
        raise RequestError(f"Keep the description under {MAX_DESCRIPTION:,} characters.", field="description")
    rule = behaviour_rule(category.behaviour)
    passengers = _chosen_passengers(booking, passenger_refs)
    if rule.needs_passengers and not passengers:
        raise RequestError("Choose the passengers concerned.", field="passengers")
    refusal = submit_refusal(category.behaviour, booking.payment_channel)
    if refusal:
        raise RequestError(refusal)
    existing = open_request_for(booking, category)
    if existing:
        raise OpenRequestExists(existing)
    selection = []
    if rule.refund_on_submit is not None:
        selection = whole_passengers(booking, [p.ref for p in passengers], now)
        if not selection:
            raise RequestError(
                "The chosen passengers have no unflown segments left to refund (flown, or already in a "
                "refund); see Refund Info."
            )

    req = ServiceRequest(
        booking=booking,
        account_id=booking.account_id,
        category=category,
        status=RequestStatus.NEW.value,
        description=text,
        created_by_id=user.id,
        created_at=now,
        last_activity_at=now,
    )
    req.passengers.extend(passengers)
    try:
        # One open request per booking and category: the partial unique index decides a race, inside
        # a savepoint so that the caller's work so far survives the refusal.
        with db.session.begin_nested():
            db.session.add(req)
    except IntegrityError:
        number = _open_request_number(booking.id, category.id)
        if number is None:
            raise
        raise OpenRequestExists(number) from None
    req.number = f"SR{req.id:08d}"
    _event(req, user, now, "created", None, note=f"Raised as {category.full_label}.")
    _attach(req, files, user)
    if rule.refund_on_submit is not None:
        refund = create_refund(
            booking,
            selection,
            path=rule.refund_on_submit,
            user=user,
            now=now,
            note=text[:2000],
            request_id=req.id,
        )
        _event(
            req, user, now, "refund", req.status, note=f"Refund {refund.code} submitted.", refund_id=refund.id
        )
    db.session.flush()
    return req


# --- The thread ------------------------------------------------------------------------------------


def post_message(
    req: ServiceRequest,
    *,
    user: User,
    body: str,
    internal: bool = False,
    files=(),
    now: datetime | None = None,
) -> RequestMessage:
    """Add a message (or, for operations, an internal note) to the thread.

    An agency reply to a Processed request returns it to In process. Agents cannot write internal notes:
    the flag is ignored for them.
    """
    now = now or utcnow()
    staff = user.is_staff
    internal = bool(internal) and staff
    if internal:
        action = RequestAction.INTERNAL_NOTE
    else:
        action = RequestAction.OPS_REPLY if staff else RequestAction.AGENCY_REPLY
    check_actor(action, staff=staff)
    before = req.status
    after = next_status(before, action)
    text = (body or "").strip()
    if not text:
        raise RequestError("Write a message first.", field="body")
    if len(text) > MAX_MESSAGE:
        raise RequestError(f"Keep the message under {MAX_MESSAGE:,} characters.", field="body")
    message = RequestMessage(author_id=user.id, body=text, internal=internal, from_operations=staff, at=now)
    req.messages.append(message)
    _attach(req, files, user, message)
    if after.value != before:
        _move(req, before, after, action)
        _event(req, user, now, "status", before, note="Reopened by the agency's reply.")
    if not internal:
        # Agents see "last activity": an internal note must not move it.
        req.last_activity_at = now
        _webhook(
            req,
            "request.message_added",
            now,
            message={"body": text, "from_operations": staff, "created_at": instant(now)},
        )
        if staff:
            _tell(account_agents(req.account_id), "reply", f"New reply on request {req.number}.", req, now)
        else:
            watchers = [req.assigned_to] if req.assigned_to is not None else staff_users(("operations",))
            _tell(watchers, "reply", f"{req.account.code} replied on request {req.number}.", req, now)
    db.session.flush()
    return message


def _move(req: ServiceRequest, before: str, after: RequestStatus, action: RequestAction) -> None:
    """Change the status with a conditional UPDATE, so two people acting at once on the same request (an
    agency Cancel and an operations Take, two tabs) cannot both win: the later one is refused."""
    if after.value == before:
        return
    if not claim(req, expected={"status": before}, values={"status": after.value}):
        raise RequestTransitionError(RequestStatus(req.status), action)


def _tell(users, kind: str, text: str, req: ServiceRequest, now: datetime) -> None:
    link = path_for("requests.request_detail", number=req.number)
    notify(users, kind, text, link, now=now, topic=f"request:{req.number}")


def take(req: ServiceRequest, *, user: User, now: datetime | None = None) -> ServiceRequest:
    """Assign the request to this operations user; a New request moves to In process."""
    now = now or utcnow()
    check_actor(RequestAction.TAKE, staff=user.is_staff)
    before = req.status
    after = next_status(before, RequestAction.TAKE)
    if req.assigned_to_id == user.id and after.value == before:
        raise RequestError("You already have this request.")
    req.assigned_to = user
    _move(req, before, after, RequestAction.TAKE)
    req.last_activity_at = now
    _event(req, user, now, "taken", before, note=f"Taken by {user.name}.")
    db.session.flush()
    return req


def change_status(
    req: ServiceRequest,
    action: RequestAction | str,
    *,
    user: User | None,
    now: datetime | None = None,
    note: str | None = None,
) -> ServiceRequest:
    """Move the request by an explicit status action: Start, Mark processed, Complete (operations),
    Cancel (the agency, while New). user None is the scheduler (auto-completion). The agency hears of
    every change it did not make itself."""
    now = now or utcnow()
    action = RequestAction(action)
    if action not in (
        RequestAction.START,
        RequestAction.MARK_PROCESSED,
        RequestAction.COMPLETE,
        RequestAction.CANCEL,
    ):
        raise RequestError("That is not a status change.")
    if user is not None:
        check_actor(action, staff=user.is_staff)
    before = req.status
    after = next_status(before, action)
    if action is RequestAction.CANCEL:
        refusal = cancel_refusal(before, req.created_refund_codes)
        if refusal:
            raise CancelRefused(refusal)
    _move(req, before, after, action)
    if after is RequestStatus.PROCESSED:
        req.processed_at = now
    req.last_activity_at = now
    _event(req, user, now, "status", before, note=note)
    if user is None or user.is_staff:
        text = f"Request {req.number}: {req.status_label}." + (f" {note}" if note else "")
        _tell(account_agents(req.account_id), "request_status", text, req, now)
    db.session.flush()
    return req


# --- Quotes (Cancel & Refund) ----------------------------------------------------------------------


def quoted_passengers(req: ServiceRequest) -> list[Passenger]:
    return list(req.passengers) or list(req.booking.passengers)


@dataclass(frozen=True)
class QuoteFormLine:
    """One passenger concerned, as the Post a quote form shows them."""

    passenger: Passenger
    refund_codes: tuple[str, ...]  # live refunds holding their flights: not quotable
    computed: Money | None  # what the Refund button's quote gives, the form's starting value
    ceiling: Money  # fare and taxes: the most a quote may give

    @property
    def field(self) -> str:
        return f"amount-{self.passenger.ref}"

    @property
    def prefill(self) -> str:
        return str(self.computed.amount) if self.computed is not None else ""


def _refund_codes_by_passenger(booking: Booking) -> dict[int, tuple[str, ...]]:
    codes: dict[int, set[str]] = {}
    for (passenger_id, _), code in live_refund_codes(booking).items():
        codes.setdefault(passenger_id, set()).add(code)
    return {pid: tuple(sorted(c)) for pid, c in codes.items()}


def _ceiling(passenger: Passenger, currency: str) -> Money:
    fare = fare_facts(passenger, currency)
    return quote_ceiling(fare.base, fare.taxes)


def quote_form_lines(req: ServiceRequest, now: datetime | None = None) -> list[QuoteFormLine]:
    """The passengers concerned with what the quote form needs: who is already in a refund, the computed
    quote for the others' unflown flights (compute_quote, as the Refund button quotes), the ceiling."""
    now = now or utcnow()
    booking = req.booking
    in_refund = _refund_codes_by_passenger(booking)
    passengers = quoted_passengers(req)
    quotable = [p.ref for p in passengers if p.id not in in_refund]
    computed: dict[str, Money | None] = {}
    try:
        selection = whole_passengers(booking, quotable, now)
        if selection:
            quote = compute_quote(
                booking, selection, path=RefundPath.REQUEST_QUOTE, involuntary=False, now=now
            )
            computed = {ref: q.amount for ref, q in quote.passengers}
    except RefundError:
        computed = {}  # nothing refundable (a cancelled booking): operations type the amounts
    return [
        QuoteFormLine(p, in_refund.get(p.id, ()), computed.get(p.ref), _ceiling(p, booking.currency))
        for p in passengers
    ]


def post_quote(
    req: ServiceRequest,
    *,
    user: User,
    amounts: dict[str, str],
    valid_until: date | None,
    note: str | None = None,
    now: datetime | None = None,
) -> RequestQuote:
    """Post a quote (an amount per passenger concerned, valid until a date); it replaces an open one."""
    now = now or utcnow()
    check_actor(RequestAction.POST_QUOTE, staff=user.is_staff)
    if not behaviour_rule(req.category.behaviour).takes_quote:
        raise RequestError("Quotes are posted only on Cancel & Refund requests.")
    before = req.status
    after = next_status(before, RequestAction.POST_QUOTE)
    currency = req.booking.currency
    in_refund = _refund_codes_by_passenger(req.booking)
    lines = []
    for p in quoted_passengers(req):
        field = f"amount-{p.ref}"
        if p.id in in_refund:
            # Left out (the form shows why); an amount typed for them anyway is refused, naming the refund.
            if (amounts.get(p.ref) or "").strip():
                check_not_in_refund(p.full_name, in_refund[p.id], field=field)
            continue
        amount = parse_amount(amounts.get(p.ref), p.full_name, currency, field=field)
        check_quote_ceiling(amount, _ceiling(p, currency), p.full_name, field=field)
        lines.append(RequestQuoteLine(passenger=p, amount=amount))
    if not lines:
        codes = sorted({c for cs in in_refund.values() for c in cs})
        raise QuoteError(
            f"Every passenger concerned is already in a refund ({', '.join(codes)}): there is nothing left "
            "to quote. Answer in the thread instead."
        )
    valid_until = check_valid_until(valid_until, portal_today(now))
    for old in req.quotes:
        if old.status == QuoteStatus.OPEN:
            old.status = QuoteStatus.SUPERSEDED.value
    quote = RequestQuote(
        currency=req.booking.currency,
        valid_until=valid_until,
        note=(note or "").strip()[:2000] or None,
        posted_by_id=user.id,
        posted_at=now,
        lines=lines,
    )
    req.quotes.append(quote)
    _move(req, before, after, RequestAction.POST_QUOTE)
    req.processed_at = now
    req.last_activity_at = now
    total = sum((line.amount for line in lines), Decimal("0.00"))
    _event(
        req,
        user,
        now,
        "quote",
        before,
        note=f"Quote posted: {quote.currency} {total:,.2f}, valid until {valid_until:%d %b %Y}.",
    )
    _webhook(
        req,
        "request.quote_posted",
        now,
        quote={
            "total": money(Money(total, quote.currency)),
            "valid_until": valid_until.isoformat(),
            "note": quote.note,
        },
    )
    _tell(
        account_agents(req.account_id),
        "quote_posted",
        f"Quote posted on request {req.number} (order {req.booking.order_number}): {quote.currency} "
        f"{total:,.2f}, valid until {valid_until:%d %b %Y}.",
        req,
        now,
    )
    db.session.flush()
    return quote


def _answerable(req: ServiceRequest, quote: RequestQuote, user: User, action: RequestAction, now):
    check_actor(action, staff=user.is_staff)
    if quote.request_id != req.id:
        raise QuoteError("That quote is not on this request.")
    after = next_status(req.status, action)
    quote_answerable(quote.status, quote_expires_at(quote.valid_until), now)
    return after


def _claim_quote(quote: RequestQuote, answer: QuoteStatus) -> None:
    """Answer the quote with a conditional UPDATE: Accept in one tab and Decline in another (or a second
    click) cannot both succeed; the later one finds it answered and is refused."""
    if not claim(quote, expected={"status": QuoteStatus.OPEN.value}, values={"status": answer.value}):
        raise QuoteClosed("This quote was already answered; reload the request to see its state.")


def accept_quote(
    req: ServiceRequest, quote: RequestQuote, *, user: User, now: datetime | None = None
) -> Refund:
    """The agency accepts: the operator refund is requested with the posted amounts, linked here."""
    now = now or utcnow()
    after = _answerable(req, quote, user, RequestAction.ACCEPT_QUOTE, now)
    _claim_quote(quote, QuoteStatus.ACCEPTED)
    amounts = {line.passenger.ref: line.amount for line in quote.lines}
    booking = req.booking
    selection = whole_passengers(booking, list(amounts), now)
    if not selection:
        raise RequestError(
            "None of the quoted passengers has an unflown segment left to refund; see Refund Info."
        )
    before = req.status
    refund = create_refund(
        booking,
        selection,
        path=RefundPath.REQUEST_QUOTE,
        user=user,
        now=now,
        posted_amounts=amounts,
        note=f"Quote accepted on request {req.number}.",
        request_id=req.id,
    )
    quote.status = QuoteStatus.ACCEPTED.value
    quote.answered_by_id = user.id
    quote.answered_at = now
    quote.refund = refund
    _move(req, before, after, RequestAction.ACCEPT_QUOTE)
    req.last_activity_at = now
    _event(
        req,
        user,
        now,
        "quote_accepted",
        before,
        note=f"Quote accepted; refund {refund.code} requested.",
        refund_id=refund.id,
    )
    db.session.flush()
    db.session.expire(req, ["refunds"])  # read again, with the new refund, by whoever shows the request
    return refund


def decline_quote(
    req: ServiceRequest, quote: RequestQuote, *, user: User, now: datetime | None = None
) -> RequestQuote:
    now = now or utcnow()
    after = _answerable(req, quote, user, RequestAction.DECLINE_QUOTE, now)
    _claim_quote(quote, QuoteStatus.DECLINED)
    before = req.status
    quote.status = QuoteStatus.DECLINED.value
    quote.answered_by_id = user.id
    quote.answered_at = now
    _move(req, before, after, RequestAction.DECLINE_QUOTE)
    req.last_activity_at = now
    _event(req, user, now, "quote_declined", before, note="Quote declined.")
    db.session.flush()
    return quote


# --- Reading ---------------------------------------------------------------------------------------


def request_query(number: str):
    """The select for a request page: everything it shows, in a fixed number of queries."""
    return (
        select(ServiceRequest)
        .where(ServiceRequest.number == (number or "").strip().upper())
        .options(
            selectinload(ServiceRequest.booking).selectinload(Booking.passengers),
            selectinload(ServiceRequest.booking).selectinload(Booking.airline),
            selectinload(ServiceRequest.category).selectinload(RequestCategory.parent),
            selectinload(ServiceRequest.account),
            selectinload(ServiceRequest.passengers),
            selectinload(ServiceRequest.created_by),
            selectinload(ServiceRequest.assigned_to),
            selectinload(ServiceRequest.quotes).selectinload(RequestQuote.lines),
            selectinload(ServiceRequest.quotes).selectinload(RequestQuote.refund),
            selectinload(ServiceRequest.refunds),
        )
    )


@dataclass
class ThreadEntry:
    kind: str  # description | message | event
    at: datetime
    order: int
    author: User | None = None
    body: str | None = None
    internal: bool = False
    from_operations: bool = False
    attachments: list = field(default_factory=list)
    event: RequestEvent | None = None

    @property
    def is_event(self) -> bool:
        """A status change or note of the request's own, shown as a line rather than a message."""
        return self.kind == "event"

    @property
    def is_description(self) -> bool:
        """The agent's description of the request, the thread's first message."""
        return self.kind == "description"


def thread(req: ServiceRequest, *, staff: bool) -> list[ThreadEntry]:
    """The thread in time order: the description, messages and events.

    For agents, internal notes (and their attachments) are left out by the query itself.
    """
    messages = select(RequestMessage).where(RequestMessage.request_id == req.id)
    if not staff:
        messages = messages.where(RequestMessage.internal.is_(False))
    messages = db.session.scalars(
        messages.order_by(RequestMessage.id).options(
            selectinload(RequestMessage.author),
            selectinload(RequestMessage.attachments).selectinload(RequestAttachment.document),
        )
    ).all()
    events = db.session.scalars(
        select(RequestEvent)
        .where(RequestEvent.request_id == req.id, RequestEvent.kind != "created")
        .order_by(RequestEvent.id)
        .options(selectinload(RequestEvent.actor))
    ).all()
    opening = db.session.scalars(
        select(RequestAttachment)
        .where(RequestAttachment.request_id == req.id, RequestAttachment.message_id.is_(None))
        .order_by(RequestAttachment.id)
        .options(selectinload(RequestAttachment.document))
    ).all()
    entries = [
        ThreadEntry(
            "description",
            req.created_at,
            0,
            author=req.created_by,
            body=req.description,
            from_operations=req.created_by.is_staff,
            attachments=[a.document for a in opening],
        )
    ]
    entries += [
        ThreadEntry(
            "message",
            m.at,
            2,
            author=m.author,
            body=m.body,
            internal=m.internal,
            from_operations=m.from_operations,
            attachments=[a.document for a in m.attachments],
        )
        for m in messages
    ]
    entries += [ThreadEntry("event", e.at, 1, author=e.actor, event=e) for e in events]
    return sorted(entries, key=lambda e: (e.at, e.order))


def hidden_from_agents(document_id: int) -> bool:
    """True when the document is attached to an internal note: agents get a 404 for it."""
    return bool(
        db.session.scalar(
            select(
                exists()
                .where(RequestAttachment.document_id == document_id)
                .where(RequestAttachment.message_id == RequestMessage.id)
                .where(RequestMessage.internal.is_(True))
            )
        )
    )


@dataclass(frozen=True)
class RequestFilters:
    q: str = ""
    # "", "open", "waiting" (on operations), "quote" (an open quote to answer) or a RequestStatus value
    status: str = ""
    category_id: int | None = None
    account_id: int | None = None  # staff only
    assigned_to_id: int | None = None  # staff only
    booking_id: int | None = None


def _conditions(filters: RequestFilters, scope: Scope) -> list:
    conditions = []
    account_id = scope.narrowed(filters.account_id).account_id
    if account_id is not None:
        conditions.append(ServiceRequest.account_id == account_id)
    if filters.status == "open":
        conditions.append(ServiceRequest.status.in_(OPEN_VALUES))
    elif filters.status == "waiting":
        conditions.append(ServiceRequest.status.in_(sorted(s.value for s in WAITING_ON_OPERATIONS)))
    elif filters.status == "quote":
        conditions.append(ServiceRequest.status.in_(sorted(s.value for s in QUOTE_ANSWERABLE_STATUSES)))
        conditions.append(
            exists().where(
                RequestQuote.request_id == ServiceRequest.id,
                RequestQuote.status == QuoteStatus.OPEN.value,
                RequestQuote.valid_until >= first_open_valid_until(utcnow()),
            )
        )
    elif filters.status:
        conditions.append(ServiceRequest.status == filters.status)
    if filters.category_id:
        conditions.append(ServiceRequest.category_id == filters.category_id)
    if filters.assigned_to_id:
        conditions.append(ServiceRequest.assigned_to_id == filters.assigned_to_id)
    if filters.booking_id:
        conditions.append(ServiceRequest.booking_id == filters.booking_id)
    term = search_key(filters.q)
    if term:
        # Prefix ranges, served by the unique indexes on the request and order numbers.
        bookings = select(Booking.id).where(starts_with(Booking.order_number, term))
        conditions.append(
            or_(starts_with(ServiceRequest.number, term), ServiceRequest.booking_id.in_(bookings))
        )
    return conditions


def count_requests(filters: RequestFilters, scope: Scope) -> int:
    """How many requests My Requests (or the operations queue) lists with these filters: one query."""
    return db.session.scalar(
        select(func.count()).select_from(ServiceRequest).where(*_conditions(filters, scope))
    )


_REQUEST_SORT_COLUMNS = {
    "activity": (ServiceRequest.last_activity_at, ServiceRequest.id),
    "raised": (ServiceRequest.created_at, ServiceRequest.id),
    "number": (ServiceRequest.number,),
}
# My Requests: latest activity first; the operations queue: the oldest request first.
REQUEST_SORTS = SortOptions(
    _REQUEST_SORT_COLUMNS,
    default=Sort("activity", descending=True),
    starts_descending=frozenset({"activity"}),
)
REQUEST_QUEUE_SORTS = SortOptions(
    _REQUEST_SORT_COLUMNS, default=Sort("raised", descending=False), starts_descending=frozenset({"activity"})
)


def search_requests(
    filters: RequestFilters,
    scope: Scope,
    page: int,
    per_page: int,
    *,
    oldest_first: bool = False,
    sort: Sort | None = None,
) -> Page:
    """One page of the requests in the scope, in a fixed number of queries. My Requests shows the latest
    activity first; the operations queue (oldest_first) the oldest request first; `sort` another order
    of REQUEST_SORTS' columns."""
    conditions = _conditions(filters, scope)
    total, _ = count(select(ServiceRequest.id).where(*conditions))
    page = clamp(page, total, per_page)
    options = REQUEST_QUEUE_SORTS if oldest_first else REQUEST_SORTS
    items = db.session.scalars(
        select(ServiceRequest)
        .where(*conditions)
        .order_by(*options.order_by(sort or options.default))
        .limit(per_page)
        .offset((page - 1) * per_page)
        .options(
            selectinload(ServiceRequest.booking),
            selectinload(ServiceRequest.category).selectinload(RequestCategory.parent),
            selectinload(ServiceRequest.account),
            selectinload(ServiceRequest.assigned_to),
        )
    ).all()
    return Page(items=list(items), total=total, page=page, per_page=per_page)


def search_requests_after(
    filters: RequestFilters, scope: Scope, after: tuple[datetime, int] | None, limit: int
) -> Slice:
    """Up to `limit` requests in the scope after the position `after` (created time and id), newest raised
    first: My Requests' filters, read by position (the API's cursor). Raised time, not last activity, so a
    request that moves on while a client walks the list is neither seen twice nor skipped."""
    conditions = _conditions(filters, scope)
    if after is not None:
        created, request_id = after
        conditions.append(
            or_(
                ServiceRequest.created_at < created,
                (ServiceRequest.created_at == created) & (ServiceRequest.id < request_id),
            )
        )
    items = list(
        db.session.scalars(
            select(ServiceRequest)
            .where(*conditions)
            .order_by(ServiceRequest.created_at.desc(), ServiceRequest.id.desc())
            .limit(limit + 1)
            .options(
                selectinload(ServiceRequest.booking),
                selectinload(ServiceRequest.category).selectinload(RequestCategory.parent),
                selectinload(ServiceRequest.passengers),
                selectinload(ServiceRequest.refunds),
            )
        )
    )
    more = len(items) > limit
    items = items[:limit]
    return Slice(items, (items[-1].created_at, items[-1].id) if more else None)


def load_request(number: str | None, scope: Scope) -> ServiceRequest | None:
    """The request with this number in the scope, with everything its page shows; else None."""
    number = (number or "").strip().upper()
    if not number or len(number) > 20:
        return None
    return db.session.scalar(scope.apply(request_query(number), ServiceRequest.account_id))


__all__ = [
    "OpenRequestExists",
    "QuoteError",
    "RequestError",
    "accept_quote",
    "change_status",
    "create_request",
    "decline_quote",
    "hidden_from_agents",
    "post_message",
    "post_quote",
    "search_requests",
    "search_requests_after",
    "take",
    "thread",
]
