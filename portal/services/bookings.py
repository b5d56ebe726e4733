"""Booking import (atomic, with schedule-change detection) and My Bookings search."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.clock import utcnow
from portal.domain.booking_import import BookingData, ExistingBooking, ImportFile, parse_import, read_document
from portal.domain.refunds import (
    CANCELLING_REFUND_STATES,
    SHOWN_BOOKING_STATUS_LABELS,
    BookingRefundState,
    shown_booking_status,
)
from portal.extensions import db
from portal.links import path_for
from portal.models import (
    Account,
    Airline,
    Ancillary,
    BaggageOption,
    Booking,
    BookingSearchKey,
    Passenger,
    ScheduleChange,
    Segment,
)
from portal.models.bookings import PAYMENT_CHANNELS, local_time, route_of
from portal.services.coupons import refresh_refund_states
from portal.services.notifications import account_agents, notify
from portal.services.paging import LIST_COUNT_CAP, Page, Slice, Sort, SortOptions, probed_page
from portal.services.schedule_changes import tell_webhooks_of_changes
from portal.services.scope import Scope
from portal.services.search import bookings_matching, search_key


def _offset_minutes(moment: datetime) -> int:
    return int(moment.utcoffset().total_seconds() // 60)


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    schedule_changes: list[ScheduleChange] = field(default_factory=list)
    airlines: int = 0

    def summary(self) -> str:
        return (
            f"{len(self.created)} booking(s) created, {len(self.updated)} updated, "
            f"{len(self.schedule_changes)} schedule change(s) recorded, {self.airlines} airline(s) upserted."
        )


def _order_numbers_in(doc: dict) -> list[str]:
    """Order numbers named in the file, read leniently; the validator reports what is wrong."""
    bookings = doc.get("bookings")
    if not isinstance(bookings, list):
        return []
    return [
        b["order_number"] for b in bookings if isinstance(b, dict) and isinstance(b.get("order_number"), str)
    ]


def _ticket_numbers_in(doc: dict) -> list[str]:
    """Ticket numbers named in the file, read leniently; the validator reports what is wrong."""
    bookings = doc.get("bookings")
    if not isinstance(bookings, list):
        return []
    return [
        p["ticket_number"]
        for b in bookings
        if isinstance(b, dict) and isinstance(b.get("passengers"), list)
        for p in b["passengers"]
        if isinstance(p, dict) and isinstance(p.get("ticket_number"), str)
    ]


def _ticket_owners(ticket_numbers: list[str]) -> dict[str, str]:
    """Ticket number -> order number of the booking in the database that holds it."""
    owners: dict[str, str] = {}
    unique = sorted(set(ticket_numbers))
    for start in range(0, len(unique), 500):
        rows = db.session.execute(
            select(Passenger.ticket_number, Booking.order_number)
            .join(Booking, Booking.id == Passenger.booking_id)
            .where(Passenger.ticket_number.in_(unique[start : start + 500]))
        )
        owners.update((ticket, order) for ticket, order in rows)
    return owners


def _existing(order_numbers: list[str]) -> dict[str, ExistingBooking]:
    known: dict[str, ExistingBooking] = {}
    for start in range(0, len(order_numbers), 500):
        chunk = order_numbers[start : start + 500]
        rows = db.session.scalars(
            select(Booking)
            .where(Booking.order_number.in_(chunk))
            .options(
                selectinload(Booking.passengers),
                selectinload(Booking.segments),
                selectinload(Booking.account),
            )
        ).all()
        for b in rows:
            known[b.order_number] = ExistingBooking(
                account=b.account.code,
                passenger_refs=frozenset(p.ref for p in b.passengers),
                segment_refs=frozenset(s.ref for s in b.segments),
            )
    return known


def import_bookings(raw: bytes | str, now: datetime | None = None) -> ImportResult:
    """Validate the whole file, then create or update every booking in it (caller commits).

    Raises ImportRejected with every error when anything is invalid; nothing is written then.
    """
    now = now or utcnow()
    accounts = {a.code: a for a in db.session.scalars(select(Account))}
    airline_codes = set(db.session.scalars(select(Airline.code)))
    document = read_document(raw)  # once: ImportRejected for a file that is not JSON text
    parsed: ImportFile = parse_import(
        document,
        accounts={code: a.currency for code, a in accounts.items()},
        airlines=airline_codes,
        existing=_existing(_order_numbers_in(document)),
        ticket_owners=_ticket_owners(_ticket_numbers_in(document)),
    )
    result = ImportResult()
    airlines, retyped = _upsert_airlines(parsed)
    result.airlines = len(parsed.airlines)
    current = {
        b.order_number: b
        for b in db.session.scalars(
            select(Booking)
            .where(Booking.order_number.in_([b.order_number for b in parsed.bookings]))
            .options(
                selectinload(Booking.passengers),
                selectinload(Booking.segments),
                selectinload(Booking.ancillaries),
            )
        )
    }
    for data in parsed.bookings:
        booking = current.get(data.order_number)
        if booking is None:
            booking = Booking(order_number=data.order_number)
            db.session.add(booking)
            result.created.append(data.order_number)
        else:
            result.updated.append(data.order_number)
        changes = _apply(booking, data, accounts[data.account], airlines, now)
        result.schedule_changes.extend(changes)
    db.session.flush()
    # A re-import may add passengers or segments, and an airline may change carrier type: what refunds make
    # of those bookings is worked out again (only bookings some refund touched can have changed).
    touched = {b.id for b in current.values() if b.refund_state != BookingRefundState.NONE.value}
    if retyped:
        touched.update(
            db.session.scalars(
                select(Booking.id).where(
                    Booking.airline_id.in_([airlines[code].id for code in retyped]),
                    Booking.refund_state != BookingRefundState.NONE.value,
                )
            )
        )
    if touched:
        refresh_refund_states(touched)
    return result


def _upsert_airlines(parsed: ImportFile) -> tuple[dict[str, Airline], set[str]]:
    """The airlines of the file, created or updated; and the codes of those whose carrier type changed."""
    retyped: set[str] = set()
    airlines = {
        a.code: a for a in db.session.scalars(select(Airline).options(selectinload(Airline.baggage_options)))
    }
    for data in parsed.airlines:
        airline = airlines.get(data.code)
        if airline is None:
            airline = Airline(code=data.code)
            db.session.add(airline)
            airlines[data.code] = airline
        airline.name = data.name
        if airline.carrier_type is not None and airline.carrier_type != data.type:
            retyped.add(data.code)
        airline.carrier_type = data.type
        airline.manage_booking_url = data.manage_booking_url
        options = {o.code: o for o in airline.baggage_options}
        listed = set()
        for opt in data.baggage_options:
            listed.add(opt.code)
            option = options.get(opt.code)
            if option is None:
                option = BaggageOption(code=opt.code)
                airline.baggage_options.append(option)
            option.description = opt.description
            option.weight_kg = opt.weight_kg
            option.price = opt.price
            option.currency = opt.currency
            option.active = True
        # Options dropped from the catalogue stay for past purchases but are no longer offered.
        for code, option in options.items():
            if code not in listed:
                option.active = False
    db.session.flush()
    return airlines, retyped


def _apply(booking: Booking, data: BookingData, account: Account, airlines, now) -> list[ScheduleChange]:
    booking.account = account
    booking.pnr = data.pnr
    booking.airline = airlines[data.airline]
    booking.payment_channel = data.payment_channel
    booking.currency = data.currency
    booking.status = data.status
    booking.issued_at = data.issued_at
    booking.contact_email = data.contact_email
    booking.contact_phone = data.contact_phone
    booking.first_departure_date = data.segments[0].departure.date()
    booking.updated_at = now

    passengers = {p.ref: p for p in booking.passengers}
    for position, p in enumerate(data.passengers):
        passenger = passengers.get(p.ref)
        if passenger is None:
            passenger = Passenger(ref=p.ref)
            booking.passengers.append(passenger)
            passengers[p.ref] = passenger
        passenger.position = position
        passenger.ptype = p.type
        passenger.title = p.title
        passenger.first_name = p.first_name
        passenger.last_name = p.last_name
        passenger.ticket_number = p.ticket_number
        passenger.base = p.base
        passenger.taxes = p.taxes
        passenger.refundable_taxes = p.refundable_taxes
        passenger.refundable = p.refundable
        passenger.cancellation_fee = p.cancellation_fee
        passenger.changeable = p.changeable
        passenger.change_fee = p.change_fee

    changes: list[ScheduleChange] = []
    segments = {s.ref: s for s in booking.segments}
    for position, s in enumerate(data.segments):
        segment = segments.get(s.ref)
        if segment is None:
            segment = Segment(ref=s.ref)
            booking.segments.append(segment)
            segments[s.ref] = segment
        else:
            change = _schedule_change(segment, s, now)
            if change is not None:
                booking.schedule_changes.append(change)
                changes.append(change)
        segment.position = position
        segment.flight_number = s.flight_number
        segment.origin = s.origin
        segment.destination = s.destination
        segment.departure_at = s.departure
        segment.departure_offset = _offset_minutes(s.departure)
        segment.arrival_at = s.arrival
        segment.arrival_offset = _offset_minutes(s.arrival)
        segment.cabin = s.cabin
        segment.status = s.status
    if changes:
        booking.action_required = True
        flights = ", ".join(sorted({c.segment.flight_number for c in changes}))
        notify(
            account_agents(account.id),
            "schedule_change",
            f"Schedule change on order {booking.order_number} ({flights}): action required.",
            path_for("bookings.booking_details", order_number=booking.order_number),
            now=now,
        )

    db.session.flush()  # ids for ancillaries, search keys and the changes' event
    if changes:
        tell_webhooks_of_changes(booking, changes, now)
    booking.ancillaries.clear()
    for a in data.ancillaries:
        booking.ancillaries.append(
            Ancillary(
                passenger_id=passengers[a.passenger_ref].id,
                segment_id=segments[a.segment_ref].id,
                type=a.type,
                description=a.description,
                price=a.price,
            )
        )
    _index(booking)
    return changes


def _schedule_change(segment: Segment, new, now) -> ScheduleChange | None:
    """A change record when the airline moved or cancelled this segment; None when nothing changed."""
    cancelled = segment.status == "confirmed" and new.status == "cancelled"
    moved = segment.departure_at != new.departure or segment.arrival_at != new.arrival
    if not (cancelled or moved):
        return None
    return ScheduleChange(
        segment=segment,
        kind="cancelled" if cancelled else "time_changed",
        detected_at=now,
        old_departure_at=segment.departure_at,
        old_departure_offset=segment.departure_offset,
        new_departure_at=new.departure,
        new_departure_offset=_offset_minutes(new.departure),
        old_arrival_at=segment.arrival_at,
        old_arrival_offset=segment.arrival_offset,
        new_arrival_at=new.arrival,
        new_arrival_offset=_offset_minutes(new.arrival),
        old_status=segment.status,
        new_status=new.status,
    )


def booking_search_keys(booking: Booking) -> set[str]:
    """Every key a user may type a prefix of to find this booking."""
    keys = {booking.order_number, booking.pnr}
    for p in booking.passengers:
        ticket = search_key(p.ticket_number)
        keys.update({ticket, ticket[3:]})
        last, first = search_key(p.last_name), search_key(p.first_name)
        keys.update({last, first, last + first, first + last})
        keys.update(search_key(part) for part in p.first_name.split())
    return {k for k in keys if k}


def _index(booking: Booking) -> None:
    db.session.execute(delete(BookingSearchKey).where(BookingSearchKey.booking_id == booking.id))
    db.session.add_all(
        BookingSearchKey(booking_id=booking.id, account_id=booking.account_id, key=key)
        for key in sorted(booking_search_keys(booking))
    )


# --- My Bookings -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BookingFilters:
    q: str = ""
    departure_from: date | None = None
    departure_to: date | None = None
    payment_channel: str | None = None
    status: str | None = None  # 'ticketed', 'cancelled' or 'action_required'
    account_id: int | None = None  # staff only


def _booking_conditions(filters: BookingFilters, account_id: int | None) -> list:
    conditions = []
    if account_id is not None:
        conditions.append(Booking.account_id == account_id)
    term = search_key(filters.q)
    if term:
        conditions.append(Booking.id.in_(bookings_matching(term, account_id)))
    if filters.departure_from:
        conditions.append(Booking.first_departure_date >= filters.departure_from)
    if filters.departure_to:
        conditions.append(Booking.first_departure_date <= filters.departure_to)
    if filters.payment_channel:
        conditions.append(Booking.payment_channel == filters.payment_channel)
    if filters.status == "action_required":
        conditions.append(Booking.action_required.is_(True))
    elif filters.status == "cancelled":
        # A low-cost carrier's booking refunded whole is cancelled too (domain.refunds).
        cancelling = [state.value for state in CANCELLING_REFUND_STATES]
        conditions.append(or_(Booking.status == "cancelled", Booking.refund_state.in_(cancelling)))
    elif filters.status == "ticketed":
        cancelling = [state.value for state in CANCELLING_REFUND_STATES]
        conditions.append(Booking.status == "ticketed")
        conditions.append(Booking.refund_state.not_in(cancelling))
    elif filters.status:
        conditions.append(Booking.status == filters.status)
    return conditions


# My Bookings' sortable columns (the URL's ?sort=&dir=); each ends with the id, so pages never overlap.
BOOKING_SORTS = SortOptions(
    columns={
        "issued": (Booking.issued_at, Booking.id),
        "departure": (Booking.first_departure_date, Booking.id),
        "order_number": (Booking.order_number,),
    },
    default=Sort("issued", descending=True),
    starts_descending=frozenset({"issued"}),
)


@dataclass(frozen=True, slots=True)
class BookingRow:
    """One line of My Bookings, read as plain columns (no ORM objects): what the list shows."""

    order_number: str
    pnr: str
    account_code: str
    airline_code: str
    carrier_type: str
    payment_channel: str
    status: str
    refund_state: str
    action_required: bool
    issued_at: datetime
    route: str
    departure_local: datetime | None
    lead_passenger: str
    other_passengers: int

    @property
    def payment_channel_label(self) -> str:
        return PAYMENT_CHANNELS[self.payment_channel]

    @property
    def shown_status(self) -> str:
        return shown_booking_status(self.status, self.refund_state or BookingRefundState.NONE)

    @property
    def shown_status_label(self) -> str:
        return SHOWN_BOOKING_STATUS_LABELS[self.shown_status]


def _booking_lines(conditions: list, sort: Sort, offset: int, limit: int) -> list:
    """The list's bookings as plain rows (airline and account by correlated lookups, which leave the plan
    to the booking's own indexes)."""
    airline = select(Airline.code, Airline.carrier_type).where(Airline.id == Booking.airline_id)
    found = db.session.execute(
        select(
            Booking.id,
            Booking.order_number,
            Booking.pnr,
            select(Account.code).where(Account.id == Booking.account_id).scalar_subquery(),
            airline.with_only_columns(Airline.code).scalar_subquery(),
            airline.with_only_columns(Airline.carrier_type).scalar_subquery(),
            Booking.payment_channel,
            Booking.status,
            Booking.refund_state,
            Booking.action_required,
            Booking.issued_at,
        )
        .where(*conditions)
        .order_by(*BOOKING_SORTS.order_by(sort))
        .limit(limit)
        .offset(offset)
    ).all()
    return found


def _booking_rows(found: list) -> list[BookingRow]:
    """My Bookings' rows of `found` (_booking_lines) in two more queries whatever their number: their
    segments and their passengers as plain tuples."""
    if not found:
        return []
    ids = [row[0] for row in found]
    legs: dict[int, list] = {i: [] for i in ids}
    for booking_id, origin, destination, departure_at, offset_minutes in db.session.execute(
        select(
            Segment.booking_id,
            Segment.origin,
            Segment.destination,
            Segment.departure_at,
            Segment.departure_offset,
        )
        .where(Segment.booking_id.in_(ids))
        .order_by(Segment.booking_id, Segment.position)
    ):
        legs[booking_id].append((origin, destination, departure_at, offset_minutes))
    names: dict[int, list[str]] = {i: [] for i in ids}
    for booking_id, last_name, first_name in db.session.execute(
        select(Passenger.booking_id, Passenger.last_name, Passenger.first_name)
        .where(Passenger.booking_id.in_(ids))
        .order_by(Passenger.booking_id, Passenger.position)
    ):
        names[booking_id].append(f"{last_name}/{first_name}")
    rows = []
    for booking_id, *columns in found:
        booking_legs, booking_names = legs[booking_id], names[booking_id]
        first = booking_legs[0] if booking_legs else None
        rows.append(
            BookingRow(
                *columns,
                route=route_of([(origin, destination) for origin, destination, _, _ in booking_legs]),
                departure_local=local_time(first[2], first[3]) if first else None,
                lead_passenger=booking_names[0] if booking_names else "",
                other_passengers=max(0, len(booking_names) - 1),
            )
        )
    return rows


def search_bookings(
    filters: BookingFilters, scope: Scope, page: int, per_page: int, sort: Sort = BOOKING_SORTS.default
) -> Page:
    """One page of My Bookings' rows (BookingRow) in the scope, in a fixed number of queries whatever the
    page's length: newest issued first unless `sort` says otherwise.

    Staff may narrow their scope to one account with filters.account_id; an agency's scope never moves.
    No exact count of a long list: a page that ends the list is counted by its rows, a longer list up to
    LIST_COUNT_CAP ("1,000+"), which also keeps the search box cheap on every keystroke.
    """
    account_id = scope.narrowed(filters.account_id).account_id
    conditions = _booking_conditions(filters, account_id)
    term = search_key(filters.q)
    if term and filters == BookingFilters(q=filters.q, account_id=filters.account_id):
        # A search and nothing else is counted on the search keys' index alone: the matching bookings
        # are the distinct booking ids of the keys in the range (a fraction of a millisecond).
        counted = bookings_matching(term, account_id).distinct()
    else:
        counted = select(Booking.id).where(*conditions)
    return probed_page(
        lambda offset, limit: _booking_lines(conditions, sort, offset, limit),
        counted,
        page,
        per_page,
        cap=LIST_COUNT_CAP,
        complete=_booking_rows,
    )


def action_required_count(scope: Scope) -> int:
    """How many bookings in the scope wait on the agency's answer to an airline change."""
    stmt = select(func.count()).select_from(Booking).where(Booking.action_required.is_(True))
    return db.session.scalar(scope.apply(stmt, Booking.account_id))


def booking_details_query(order_number: str):
    """The select for Booking Details: everything the page shows, loaded in a fixed number of queries."""
    return (
        select(Booking)
        .where(Booking.order_number == order_number)
        .options(
            # Many-to-one: joined into the booking's own query, which keeps the page within its budget.
            joinedload(Booking.airline),
            joinedload(Booking.account),
            # Passengers and segments joined too (passengers x segments rows, a handful): two queries
            # fewer, a third of the load's time. The rarer lists stay separate, so their rows never
            # multiply with these.
            joinedload(Booking.passengers),
            joinedload(Booking.segments),
            selectinload(Booking.ancillaries),
            selectinload(Booking.schedule_changes).selectinload(ScheduleChange.refund),
            selectinload(Booking.baggage_orders),
        )
    )


def load_booking(order_number: str | None, scope: Scope) -> Booking | None:
    """The booking with this order number in the scope, with all Booking Details shows; else None.

    An unknown order number and another account's booking are the same None.
    """
    number = (order_number or "").strip().upper()
    if not number or len(number) > 20:
        return None
    return db.session.scalar(scope.apply(booking_details_query(number), Booking.account_id))


def search_bookings_after(
    filters: BookingFilters, scope: Scope, after: tuple[datetime, int] | None, limit: int
) -> Slice:
    """Up to `limit` bookings in the scope after the position `after` (issued time and id), newest issued
    first: the same filters and order as My Bookings, read by position rather than by page number."""
    conditions = _booking_conditions(filters, scope.narrowed(filters.account_id).account_id)
    if after is not None:
        issued, booking_id = after
        conditions.append(
            or_(Booking.issued_at < issued, (Booking.issued_at == issued) & (Booking.id < booking_id))
        )
    items = list(
        db.session.scalars(
            select(Booking)
            .where(*conditions)
            .order_by(Booking.issued_at.desc(), Booking.id.desc())
            .limit(limit + 1)
            .options(
                selectinload(Booking.airline),
                selectinload(Booking.passengers),
                selectinload(Booking.segments),
            )
        )
    )
    more = len(items) > limit
    items = items[:limit]
    return Slice(items, (items[-1].issued_at, items[-1].id) if more else None)
