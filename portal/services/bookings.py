"""Booking import (atomic, with schedule-change detection) and My Bookings search."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import islice
from typing import BinaryIO

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.clock import utcnow
from portal.domain.booking_import import (
    AirlineData,
    AncillaryData,
    BookingData,
    ExistingBooking,
    ImportChecker,
    ImportRejected,
    PassengerData,
    SegmentData,
    StreamedFile,
    read_document,
)
from portal.domain.refunds import CANCELLING_REFUND_STATES, BookingRefundState
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
from portal.services.coupons import refresh_refund_states
from portal.services.notifications import account_agents, notify
from portal.services.paging import COUNT_CAP, Page, Slice, clamp, count
from portal.services.scope import Scope
from portal.services.search import bookings_matching, search_key

CHUNK = 1000  # bookings written a round
LOOKUP = 500  # order or ticket numbers a look-up query asks about


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


def _order_numbers_in(bookings: list) -> list[str]:
    """Order numbers named in these bookings, read leniently; the validator reports what is wrong."""
    return [
        b["order_number"] for b in bookings if isinstance(b, dict) and isinstance(b.get("order_number"), str)
    ]


def _ticket_numbers_in(bookings: list) -> list[str]:
    """Ticket numbers named in these bookings, read leniently; the validator reports what is wrong."""
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
    for start in range(0, len(unique), LOOKUP):
        rows = db.session.execute(
            select(Passenger.ticket_number, Booking.order_number)
            .join(Booking, Booking.id == Passenger.booking_id)
            .where(Passenger.ticket_number.in_(unique[start : start + LOOKUP]))
        )
        owners.update((ticket, order) for ticket, order in rows)
    return owners


def _existing(order_numbers: list[str], *, up_to_id: int | None = None) -> dict[str, ExistingBooking]:
    """What the validator needs of the bookings already imported: account and refs (three queries a
    chunk, no ORM objects: a re-import of a whole book asks this of every booking). up_to_id: only
    bookings with an id up to this one (those that were there before this import)."""
    known: dict[str, ExistingBooking] = {}
    for start in range(0, len(order_numbers), LOOKUP):
        chunk = order_numbers[start : start + LOOKUP]
        query = (
            select(Booking.id, Booking.order_number, Account.code)
            .join(Account, Account.id == Booking.account_id)
            .where(Booking.order_number.in_(chunk))
        )
        if up_to_id is not None:
            query = query.where(Booking.id <= up_to_id)
        rows = db.session.execute(query).all()
        if not rows:
            continue
        ids = [row.id for row in rows]
        passenger_refs: dict[int, set[str]] = {}
        for booking_id, ref in db.session.execute(
            select(Passenger.booking_id, Passenger.ref).where(Passenger.booking_id.in_(ids))
        ):
            passenger_refs.setdefault(booking_id, set()).add(ref)
        segment_refs: dict[int, set[str]] = {}
        for booking_id, ref in db.session.execute(
            select(Segment.booking_id, Segment.ref).where(Segment.booking_id.in_(ids))
        ):
            segment_refs.setdefault(booking_id, set()).add(ref)
        for booking_id, order_number, account_code in rows:
            known[order_number] = ExistingBooking(
                account=account_code,
                passenger_refs=frozenset(passenger_refs.get(booking_id, ())),
                segment_refs=frozenset(segment_refs.get(booking_id, ())),
            )
    return known


Progress = Callable[[int], None]  # called with the number of bookings done so far


def import_bookings(
    raw: bytes | str | BinaryIO, now: datetime | None = None, progress: Progress | None = None
) -> ImportResult:
    """Validate the whole file and create or update every booking in it (caller commits).

    Raises ImportRejected with every error when anything is invalid; the caller rolls back then, so
    nothing is written. raw is the file's content, or a binary file object read one booking at a time
    (a million bookings never sit in memory together: see StreamedFile).

    The bookings are checked and written CHUNK at a time, in one transaction: new ones in bulk (Core
    inserts), a booking already imported compared with what the database holds and, only when something
    differs, updated through the ORM (_apply), which is where schedule changes are found. A re-imported
    booking that did not change is not written at all. Once any error is found nothing more is written
    (the rest is still checked, so that every error is reported).
    """
    now = now or utcnow()
    if not isinstance(raw, bytes | bytearray | str) and _size(raw) < STREAM_FROM:
        raw = raw.read()  # small enough to read whole, which lets its members come in any order
    if isinstance(raw, bytes | bytearray | str):
        document = read_document(raw)  # once: ImportRejected for a file that is not JSON text
        bookings = document.get("bookings")
        items = iter(bookings if isinstance(bookings, list) else ())
        return _import(lambda: document, items, now, progress)
    streamed = StreamedFile(raw)
    return _import(lambda: streamed.header, streamed.bookings(), now, progress, lambda: streamed.late)


STREAM_FROM = 32 * 1024 * 1024  # bytes: a file this large is read a booking at a time


def _size(stream: BinaryIO) -> int:
    """Bytes from the current position of a seekable file to its end."""
    here = stream.tell()
    end = stream.seek(0, 2)
    stream.seek(here)
    return end - here


LATE_MEMBERS = (
    'file: "bookings" must be the last member of a file this large (it is read a booking at a time); '
    "put the airlines and the format before it"
)


def _import(
    header: Callable[[], dict],
    items: Iterator,
    now: datetime,
    progress: Progress | None,
    late: Callable[[], bool] = lambda: False,
) -> ImportResult:
    accounts = {a.code: a for a in db.session.scalars(select(Account))}
    airline_codes = set(db.session.scalars(select(Airline.code)))
    last_id_before = db.session.scalar(select(func.max(Booking.id))) or 0
    result = ImportResult()
    chunk = list(islice(items, CHUNK))  # reading the first chunk reads what comes before the bookings
    checker = ImportChecker(
        header(), accounts={code: a.currency for code, a in accounts.items()}, airlines=airline_codes
    )
    airlines: dict[str, Airline] = {}
    retyped: set[str] = set()
    if not checker.failed:
        airlines, retyped = _upsert_airlines(checker.airlines)
    result.airlines = len(checker.airlines or ())
    touched: set[int] = set()  # bookings a re-import changed whose refunds may now read differently
    imported_at = utcnow()
    start = 0
    while chunk:
        order_numbers = _order_numbers_in(chunk)
        again_in_file = [n for n in order_numbers if checker.seen_before(n, start)]
        existing = _existing([n for n in order_numbers if n not in again_in_file])
        existing.update(_existing(again_in_file, up_to_id=last_id_before))
        checked = checker.bookings(chunk, start, existing, _ticket_owners(_ticket_numbers_in(chunk)))
        if not checker.failed:
            touched.update(_write(checked, existing, accounts, airlines, now, imported_at, result))
        start += len(chunk)
        if progress is not None:
            progress(start)
        chunk = list(islice(items, CHUNK))
    if late():
        raise ImportRejected([LATE_MEMBERS])
    checker.finish()
    # A re-import may add passengers or segments, and an airline may change carrier type: what refunds make
    # of those bookings is worked out again (only bookings some refund touched can have changed).
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


def _write(checked: list[BookingData], existing, accounts, airlines, now, imported_at, result) -> set[int]:
    """Write one checked chunk; the ids of changed bookings some refund touched."""
    new = [data for data in checked if data.order_number not in existing]
    _insert_new_bookings(new, accounts, airlines, now, imported_at)
    result.created.extend(data.order_number for data in new)
    again = [data for data in checked if data.order_number in existing]
    result.updated.extend(data.order_number for data in again)
    differing = _differing(again, accounts, airlines)
    touched = set()
    if differing:
        current = {
            b.order_number: b
            for b in db.session.scalars(
                select(Booking)
                .where(Booking.order_number.in_([data.order_number for data in differing]))
                .options(
                    selectinload(Booking.passengers),
                    selectinload(Booking.segments),
                    selectinload(Booking.ancillaries),
                )
            )
        }
        for data in differing:
            booking = current[data.order_number]
            result.schedule_changes.extend(_apply(booking, data, accounts[data.account], airlines, now))
            if booking.refund_state != BookingRefundState.NONE.value:
                touched.add(booking.id)
        db.session.flush()
    return touched


# --- Writing many bookings at once --------------------------------------------------------------------
#
# The column values of a booking, its passengers and segments are worked out by one function each, used
# both to insert a new booking (Core executemany through the models' tables, so Amount and UTCDateTime bind
# as the ORM would) and to tell whether a re-imported one changed.


def _booking_values(data: BookingData, account: Account, airlines: dict[str, Airline]) -> dict:
    return {
        "order_number": data.order_number,
        "account_id": account.id,
        "pnr": data.pnr,
        "airline_id": airlines[data.airline].id,
        "payment_channel": data.payment_channel,
        "currency": data.currency,
        "status": data.status,
        "issued_at": data.issued_at,
        "contact_email": data.contact_email,
        "contact_phone": data.contact_phone,
        "first_departure_date": data.segments[0].departure.date(),
    }


def _passenger_values(p: PassengerData, position: int) -> dict:
    return {
        "ref": p.ref,
        "position": position,
        "ptype": p.type,
        "title": p.title,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "ticket_number": p.ticket_number,
        "base": p.base,
        "taxes": p.taxes,
        "refundable_taxes": p.refundable_taxes,
        "refundable": p.refundable,
        "cancellation_fee": p.cancellation_fee,
        "changeable": p.changeable,
        "change_fee": p.change_fee,
    }


def _segment_values(s: SegmentData, position: int) -> dict:
    return {
        "ref": s.ref,
        "position": position,
        "flight_number": s.flight_number,
        "origin": s.origin,
        "destination": s.destination,
        "departure_at": s.departure,
        "departure_offset": _offset_minutes(s.departure),
        "arrival_at": s.arrival,
        "arrival_offset": _offset_minutes(s.arrival),
        "cabin": s.cabin,
        "status": s.status,
    }


def _ancillary_values(a: AncillaryData) -> tuple:
    return (a.passenger_ref, a.segment_ref, a.type, a.description, a.price)


# Written by _apply on the ORM object (account and airline go through their relationships).
_BOOKING_FIELDS = (
    "pnr",
    "payment_channel",
    "currency",
    "status",
    "issued_at",
    "contact_email",
    "contact_phone",
    "first_departure_date",
)


def _insert_new_bookings(
    new: list[BookingData], accounts: dict[str, Account], airlines: dict[str, Airline], now, imported_at
) -> None:
    """Bookings not in the database yet, with passengers, segments, ancillaries and search keys: one
    executemany a table (the databases batch them into multi-row statements)."""
    if not new:
        return
    booking_ids = _insert_returning_ids(
        Booking.__table__,
        [
            {
                **_booking_values(data, accounts[data.account], airlines),
                "action_required": False,
                "refund_state": BookingRefundState.NONE.value,
                "imported_at": imported_at,
                "updated_at": now,
            }
            for data in new
        ],
    )
    passenger_rows, segment_rows, key_rows = [], [], []
    for booking_id, data in zip(booking_ids, new, strict=True):
        passenger_rows.extend(
            {"booking_id": booking_id, **_passenger_values(p, i)} for i, p in enumerate(data.passengers)
        )
        segment_rows.extend(
            {"booking_id": booking_id, **_segment_values(s, i)} for i, s in enumerate(data.segments)
        )
        account_id = accounts[data.account].id
        key_rows.extend(
            {"booking_id": booking_id, "account_id": account_id, "key": key}
            for key in sorted(booking_search_keys(data))
        )
    with_ancillaries = any(data.ancillaries for data in new)
    if with_ancillaries:
        passenger_ids = _insert_returning_ids(Passenger.__table__, passenger_rows)
        segment_ids = _insert_returning_ids(Segment.__table__, segment_rows)
        passenger_id = {
            (r["booking_id"], r["ref"]): i for r, i in zip(passenger_rows, passenger_ids, strict=True)
        }
        segment_id = {(r["booking_id"], r["ref"]): i for r, i in zip(segment_rows, segment_ids, strict=True)}
        db.session.execute(
            insert(Ancillary.__table__),
            [
                {
                    "booking_id": booking_id,
                    "passenger_id": passenger_id[booking_id, a.passenger_ref],
                    "segment_id": segment_id[booking_id, a.segment_ref],
                    "type": a.type,
                    "description": a.description,
                    "price": a.price,
                }
                for booking_id, data in zip(booking_ids, new, strict=True)
                for a in data.ancillaries
            ],
        )
    else:
        db.session.execute(insert(Passenger.__table__), passenger_rows)
        db.session.execute(insert(Segment.__table__), segment_rows)
    db.session.execute(insert(BookingSearchKey.__table__), key_rows)


def _insert_returning_ids(table, rows: list[dict]) -> list[int]:
    """Insert the rows; their new ids, in the order of the rows."""
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.execute(statement, rows).scalars())


def _differing(again: list[BookingData], accounts: dict[str, Account], airlines: dict[str, Airline]):
    """The re-imported bookings whose file content differs from what the database holds (four queries
    for the lot): only those are written."""
    if not again:
        return []
    booking_columns = [
        getattr(Booking, name) for name in _booking_values(again[0], accounts[again[0].account], airlines)
    ]
    rows = db.session.execute(
        select(Booking.id, *booking_columns).where(Booking.order_number.in_([d.order_number for d in again]))
    ).all()
    stored = {row.order_number: (row[0], dict(row._mapping)) for row in rows}
    for values in stored.values():
        del values[1]["id"]
    ids = [booking_id for booking_id, _ in stored.values()]
    passengers = _stored_children(Passenger, ids, list(_passenger_values(again[0].passengers[0], 0)))
    segments = _stored_children(Segment, ids, list(_segment_values(again[0].segments[0], 0)))
    ancillaries: dict[int, list[tuple]] = {}
    for booking_id, *values in db.session.execute(
        select(
            Ancillary.booking_id,
            Passenger.ref,
            Segment.ref,
            Ancillary.type,
            Ancillary.description,
            Ancillary.price,
        )
        .join(Passenger, Passenger.id == Ancillary.passenger_id)
        .join(Segment, Segment.id == Ancillary.segment_id)
        .where(Ancillary.booking_id.in_(ids))
        .order_by(Ancillary.id)
    ):
        ancillaries.setdefault(booking_id, []).append(tuple(values))
    differing = []
    for data in again:
        booking_id, values = stored[data.order_number]
        if (
            values != _booking_values(data, accounts[data.account], airlines)
            or passengers.get(booking_id)
            != {p.ref: _passenger_values(p, i) for i, p in enumerate(data.passengers)}
            or segments.get(booking_id) != {s.ref: _segment_values(s, i) for i, s in enumerate(data.segments)}
            or ancillaries.get(booking_id, []) != [_ancillary_values(a) for a in data.ancillaries]
        ):
            differing.append(data)
    return differing


def _stored_children(model, booking_ids: list[int], names: list[str]) -> dict[int, dict[str, dict]]:
    """booking id -> ref -> the named columns, for the passengers or segments of these bookings."""
    children: dict[int, dict[str, dict]] = {}
    columns = [getattr(model, name) for name in names]
    for row in db.session.execute(
        select(model.booking_id, *columns).where(model.booking_id.in_(booking_ids))
    ):
        values = dict(row._mapping)
        booking_id = values.pop("booking_id")
        children.setdefault(booking_id, {})[values["ref"]] = values
    return children


def _upsert_airlines(file_airlines: tuple[AirlineData, ...]) -> tuple[dict[str, Airline], set[str]]:
    """The airlines of the file, created or updated; and the codes of those whose carrier type changed."""
    retyped: set[str] = set()
    airlines = {
        a.code: a for a in db.session.scalars(select(Airline).options(selectinload(Airline.baggage_options)))
    }
    for data in file_airlines:
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
    booking.airline = airlines[data.airline]
    values = _booking_values(data, account, airlines)
    for name in _BOOKING_FIELDS:
        setattr(booking, name, values[name])
    booking.updated_at = now

    passengers = {p.ref: p for p in booking.passengers}
    for position, p in enumerate(data.passengers):
        passenger = passengers.get(p.ref)
        if passenger is None:
            passenger = Passenger(ref=p.ref)
            booking.passengers.append(passenger)
            passengers[p.ref] = passenger
        for name, value in _passenger_values(p, position).items():
            setattr(passenger, name, value)

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
        for name, value in _segment_values(s, position).items():
            setattr(segment, name, value)
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

    db.session.flush()  # ids for ancillaries and search keys
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


def search_bookings(filters: BookingFilters, scope: Scope, page: int, per_page: int) -> Page:
    """One page of bookings in the scope, newest issued first, in a fixed number of queries.

    Staff may narrow their scope to one account with filters.account_id; an agency's scope never moves.
    """
    conditions = _booking_conditions(filters, scope.narrowed(filters.account_id).account_id)
    # Counting stops at COUNT_CAP: at a million bookings an exact count of "everything" costs more
    # than the page itself, and "10,000+" tells the user as much. Filters narrow it to an exact count.
    total, more = count(select(Booking.id).where(*conditions), cap=COUNT_CAP)
    page = clamp(page, total, per_page)
    items = db.session.scalars(
        select(Booking)
        .where(*conditions)
        .order_by(Booking.issued_at.desc(), Booking.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
        .options(
            selectinload(Booking.airline),
            selectinload(Booking.passengers),
            selectinload(Booking.segments),
            selectinload(Booking.account),
        )
    ).all()
    return Page(items=list(items), total=total, page=page, per_page=per_page, more=more)


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
            selectinload(Booking.passengers),
            selectinload(Booking.segments),
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
