"""Booking import (atomic, with schedule-change detection) and My Bookings search."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from itertools import islice
from typing import BinaryIO, NamedTuple

from sqlalchemy import ARRAY, Select, any_, bindparam, delete, func, insert, literal, or_, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

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
    remaining_bytes,
)
from portal.domain.refunds import (
    CANCELLING_REFUND_STATES,
    SHOWN_BOOKING_STATUS_LABELS,
    BookingRefundState,
    shown_booking_status,
)
from portal.extensions import db, read
from portal.links import path_for
from portal.models import (
    Account,
    Airline,
    Ancillary,
    BaggageOption,
    BaggageOrder,
    Booking,
    BookingSearchKey,
    Passenger,
    ScheduleChange,
    Segment,
)
from portal.models.bookings import (
    ANCILLARY_IMPORTED_COLUMNS,
    BOOKING_IMPORTED_COLUMNS,
    PASSENGER_IMPORTED_COLUMNS,
    PAYMENT_CHANNELS,
    SEGMENT_IMPORTED_COLUMNS,
    local_time,
    route_of,
)
from portal.services.coupons import refresh_refund_states
from portal.services.notifications import account_agents, notify
from portal.services.paging import LIST_COUNT_CAP, Page, Slice, Sort, SortOptions, probed_page
from portal.services.schedule_changes import tell_webhooks_of_changes
from portal.services.scope import Scope, apply_bound
from portal.services.search import (
    TermPlan,
    count_matching,
    keys_changed,
    match_condition,
    plan_term,
    search_key,
    term_params,
)

CHUNK = 1000  # bookings written a round
LOOKUP = 500  # order or ticket numbers a look-up query asks about


def _offset_minutes(moment: datetime) -> int:
    return int(moment.utcoffset().total_seconds() // 60)


@dataclass(frozen=True, slots=True)
class FoundChange:
    """A schedule change an import recorded, as the summary names it: plain values, not the ORM object
    (a re-import of a whole book may find tens of thousands; their objects and the bookings they hold
    would stay in memory to the end)."""

    order_number: str
    segment_ref: str
    flight_number: str
    kind: str
    kind_label: str
    old_departure_local: datetime
    new_departure_local: datetime

    @classmethod
    def of(cls, change: ScheduleChange, order_number: str) -> FoundChange:
        return cls(
            order_number=order_number,
            segment_ref=change.segment.ref,
            flight_number=change.segment.flight_number,
            kind=change.kind,
            kind_label=change.kind_label,
            old_departure_local=change.old_departure_local,
            new_departure_local=change.new_departure_local,
        )


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    schedule_changes: list[FoundChange] = field(default_factory=list)
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


def _tickets_in(bookings: list) -> list[tuple[object, str]]:
    """(order number, ticket number) of the passengers of these bookings, read leniently; the validator
    reports what is wrong."""
    return [
        (b.get("order_number"), p["ticket_number"])
        for b in bookings
        if isinstance(b, dict) and isinstance(b.get("passengers"), list)
        for p in b["passengers"]
        if isinstance(p, dict) and isinstance(p.get("ticket_number"), str)
    ]


def _among(column, values: list):
    """column IN values, for the import's look-ups of LOOKUP values at a time. On PostgreSQL as
    `= ANY(array)`: one bound array instead of LOOKUP parameters, so every look-up is the same short
    statement (the driver rewrote each long one anew, a third of an unchanged re-import's time)."""
    if db.session.get_bind().dialect.name == "postgresql":
        return column == any_(literal(values, ARRAY(column.type)))
    return column.in_(values)


def _ticket_owners(ticket_numbers: list[str]) -> dict[str, str]:
    """Ticket number -> order number of the booking in the database that holds it."""
    owners: dict[str, str] = {}
    unique = sorted(set(ticket_numbers))
    for start in range(0, len(unique), LOOKUP):
        rows = db.session.execute(
            select(Passenger.ticket_number, Booking.order_number)
            .join(Booking, Booking.id == Passenger.booking_id)
            .where(_among(Passenger.ticket_number, unique[start : start + LOOKUP]))
        )
        owners.update((ticket, order) for ticket, order in rows)
    return owners


_BOOKING_COLUMNS = BOOKING_IMPORTED_COLUMNS
_PASSENGER_COLUMNS = PASSENGER_IMPORTED_COLUMNS
_SEGMENT_COLUMNS = SEGMENT_IMPORTED_COLUMNS
# Ancillaries are compared by their passenger's and segment's refs, then these columns.
_ANCILLARY_VALUE_COLUMNS = ANCILLARY_IMPORTED_COLUMNS[2:]


@dataclass
class _Known:
    """What a re-import's checks need of a booking in the database, read without loading its content:
    its id, account, import digest, passengers' tickets by ref and segments' refs."""

    id: int
    account: str
    digest: str | None
    tickets: dict[str, str] = field(default_factory=dict)
    segment_refs: set[str] = field(default_factory=set)

    @property
    def existing(self) -> ExistingBooking:
        return ExistingBooking(
            account=self.account,
            passenger_refs=frozenset(self.tickets),
            segment_refs=frozenset(self.segment_refs),
        )

    def holds_ticket(self, ticket_number: str) -> bool:
        return ticket_number in self.tickets.values()


def _known(order_numbers: list[str], *, up_to_id: int | None = None) -> dict[str, _Known]:
    """What the checks need of the bookings in the database with these order numbers (three light
    queries per LOOKUP bookings: strings and ids, no amounts or times to convert). up_to_id: only
    bookings with an id up to this one (those that were there before this import)."""
    known: dict[str, _Known] = {}
    for start in range(0, len(order_numbers), LOOKUP):
        query = (
            select(Booking.id, Booking.order_number, Account.code, Booking.import_digest)
            .join(Account, Account.id == Booking.account_id)
            .where(_among(Booking.order_number, order_numbers[start : start + LOOKUP]))
        )
        if up_to_id is not None:
            query = query.where(Booking.id <= up_to_id)
        by_id = {}
        for booking_id, order_number, account, digest in db.session.execute(query):
            by_id[booking_id] = known[order_number] = _Known(booking_id, account, digest)
        if not by_id:
            continue
        for booking_id, ref, ticket in db.session.execute(
            select(Passenger.booking_id, Passenger.ref, Passenger.ticket_number).where(
                _among(Passenger.booking_id, list(by_id))
            )
        ):
            by_id[booking_id].tickets[ref] = ticket
        for booking_id, ref in db.session.execute(
            select(Segment.booking_id, Segment.ref).where(_among(Segment.booking_id, list(by_id)))
        ):
            by_id[booking_id].segment_refs.add(ref)
    return known


@dataclass
class _Stored:
    """A booking's imported content as the database holds it, in the shape _content gives the file's:
    column values in the order of _BOOKING_COLUMNS, passengers and segments by ref, ancillaries in id
    order."""

    values: tuple = ()
    passengers: dict[str, tuple] = field(default_factory=dict)
    segments: dict[str, tuple] = field(default_factory=dict)
    ancillaries: list[tuple] = field(default_factory=list)

    @property
    def content(self) -> tuple:
        return (self.values, self.passengers, self.segments, self.ancillaries)


def _stored(booking_ids: list[int]) -> dict[int, _Stored]:
    """The imported content of these bookings, by id (four queries per LOOKUP bookings, no ORM objects);
    asked only of re-imported bookings whose digest did not match."""
    by_id: dict[int, _Stored] = {}
    booking_columns = [getattr(Booking, name) for name in _BOOKING_COLUMNS]
    for start in range(0, len(booking_ids), LOOKUP):
        ids = booking_ids[start : start + LOOKUP]
        for booking_id, *values in db.session.execute(
            select(Booking.id, *booking_columns).where(_among(Booking.id, ids))
        ):
            by_id[booking_id] = _Stored(tuple(values))
        for model, names, attribute in (
            (Passenger, _PASSENGER_COLUMNS, "passengers"),
            (Segment, _SEGMENT_COLUMNS, "segments"),
        ):
            columns = [getattr(model, name) for name in names]
            for booking_id, *values in db.session.execute(
                select(model.booking_id, *columns).where(_among(model.booking_id, ids))
            ):
                getattr(by_id[booking_id], attribute)[values[0]] = tuple(values)
        for booking_id, *values in db.session.execute(
            select(
                Ancillary.booking_id,
                Passenger.ref,
                Segment.ref,
                *(getattr(Ancillary, name) for name in _ANCILLARY_VALUE_COLUMNS),
            )
            .join(Passenger, Passenger.id == Ancillary.passenger_id)
            .join(Segment, Segment.id == Ancillary.segment_id)
            .where(_among(Ancillary.booking_id, ids))
            .order_by(Ancillary.id)
        ):
            by_id[booking_id].ancillaries.append(tuple(values))
    return by_id


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
    if not isinstance(raw, bytes | bytearray | str) and remaining_bytes(raw) < STREAM_FROM:
        raw = raw.read()  # small enough to read whole, which lets its members come in any order
    if isinstance(raw, bytes | bytearray | str):
        document = read_document(raw)  # once: ImportRejected for a file that is not JSON text
        bookings = document.get("bookings")
        items = iter(bookings if isinstance(bookings, list) else ())
        return _import(lambda: document, items, now, progress)
    streamed = StreamedFile(raw)
    return _import(lambda: streamed.header, streamed.bookings(), now, progress, lambda: streamed.late)


STREAM_FROM = 32 * 1024 * 1024  # bytes: a file this large is read a booking at a time


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
    keys_written = False
    imported_at = utcnow()
    start = 0
    while chunk:
        order_numbers = _order_numbers_in(chunk)
        again_in_file = [n for n in order_numbers if checker.seen_before(n, start)]
        known = _known([n for n in order_numbers if n not in again_in_file])
        known.update(_known(again_in_file, up_to_id=last_id_before))
        # Who holds each ticket: not asked of a booking's own tickets (it may keep them).
        tickets = [
            t for number, t in _tickets_in(chunk) if number not in known or not known[number].holds_ticket(t)
        ]
        existing = {number: booking.existing for number, booking in known.items()}
        checked = checker.bookings(chunk, start, existing, _ticket_owners(tickets))
        if not checker.failed:
            changed, wrote = _write(checked, known, accounts, airlines, now, imported_at, result)
            touched.update(changed)
            keys_written = keys_written or wrote
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
    if keys_written:
        keys_changed()  # last, so the version's row is locked only until the import commits
    return result


def _write(
    checked: list[BookingData], known, accounts, airlines, now, imported_at, result
) -> tuple[set[int], bool]:
    """Write one checked chunk: the ids of changed bookings some refund touched, and whether any booking's
    search keys were written (a new booking, or a changed one: _apply indexes it again).

    A re-imported booking whose content digest is the one stored with it is skipped unread. Any other
    (changed, or without a digest yet) is compared in full with what the database holds: written through
    the ORM when something differs, else given its digest only."""
    new = [data for data in checked if data.order_number not in known]
    _insert_new_bookings(new, accounts, airlines, now, imported_at)
    result.created.extend(data.order_number for data in new)
    again = [data for data in checked if data.order_number in known]
    result.updated.extend(data.order_number for data in again)
    contents = {data.order_number: _content(data, accounts[data.account], airlines) for data in again}
    digests = {number: import_digest(content) for number, content in contents.items()}
    unsure = [data for data in again if known[data.order_number].digest != digests[data.order_number]]
    if not unsure:
        return set(), bool(new)
    stored = _stored([known[data.order_number].id for data in unsure])
    differing, same = [], []
    for data in unsure:
        booking_id = known[data.order_number].id
        if stored[booking_id].content != contents[data.order_number]:
            differing.append(data)
        else:
            same.append({"bid": booking_id, "digest": digests[data.order_number]})
    if same:
        table = Booking.__table__
        db.session.execute(
            update(table).where(table.c.id == bindparam("bid")).values(import_digest=bindparam("digest")),
            same,
        )
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
            changes = _apply(booking, data, accounts[data.account], airlines, now, digests[data.order_number])
            result.schedule_changes.extend(FoundChange.of(c, data.order_number) for c in changes)
            if booking.refund_state != BookingRefundState.NONE.value:
                touched.add(booking.id)
        db.session.flush()
    return touched, bool(new or differing)


# --- Writing many bookings at once --------------------------------------------------------------------
#
# The column values of a booking, its passengers and segments (in the order of _BOOKING_COLUMNS,
# _PASSENGER_COLUMNS, _SEGMENT_COLUMNS) are worked out by one function each, used to insert a new
# booking (_RowWriter: COPY on PostgreSQL, executemany on SQLite, each value through its column's type so
# Amount and UTCDateTime bind as the ORM would), to update a changed one (_apply), and to tell whether a
# re-imported one changed (_differs).


def _booking_row(data: BookingData, account: Account, airlines: dict[str, Airline]) -> tuple:
    return (
        data.order_number,  # order_number
        account.id,  # account_id
        data.pnr,  # pnr
        airlines[data.airline].id,  # airline_id
        data.payment_channel,  # payment_channel
        data.currency,  # currency
        data.status,  # status
        data.issued_at,  # issued_at
        data.contact_email,  # contact_email
        data.contact_phone,  # contact_phone
        *booking_summary(data),  # first_departure_date ... passenger_count
    )


def booking_summary(data: BookingData) -> tuple:
    """What the booking keeps of its segments and passengers (in file order) for filters and My Bookings'
    rows, in the order of BOOKING_SUMMARY_COLUMNS: the one place they are worked out (a booking always
    has a segment and a passenger)."""
    first, lead = data.segments[0], data.passengers[0]
    return (
        first.departure.date(),  # first_departure_date (local, at the origin)
        route_of([(s.origin, s.destination) for s in data.segments]),  # route
        first.departure,  # first_departure_at (the first segment's departure_at)
        _offset_minutes(first.departure),  # first_departure_offset (its departure_offset)
        f"{lead.last_name}/{lead.first_name}",  # lead_passenger
        len(data.passengers),  # passenger_count
    )


def _passenger_row(p: PassengerData, position: int) -> tuple:
    return (
        p.ref,  # ref
        position,  # position
        p.type,  # ptype
        p.title,  # title
        p.first_name,  # first_name
        p.last_name,  # last_name
        p.ticket_number,  # ticket_number
        p.base,  # base
        p.taxes,  # taxes
        p.refundable_taxes,  # refundable_taxes
        p.refundable,  # refundable
        p.cancellation_fee,  # cancellation_fee
        p.changeable,  # changeable
        p.change_fee,  # change_fee
    )


def _segment_row(s: SegmentData, position: int) -> tuple:
    return (
        s.ref,  # ref
        position,  # position
        s.flight_number,  # flight_number
        s.origin,  # origin
        s.destination,  # destination
        s.departure,  # departure_at
        _offset_minutes(s.departure),  # departure_offset
        s.arrival,  # arrival_at
        _offset_minutes(s.arrival),  # arrival_offset
        s.cabin,  # cabin
        s.status,  # status
    )


def _ancillary_values(a: AncillaryData) -> tuple:
    return (a.passenger_ref, a.segment_ref, a.type, a.description, a.price)


# Written by _apply on the ORM object (account and airline go through their relationships).
_BOOKING_FIELDS = tuple(
    name for name in _BOOKING_COLUMNS if name not in ("order_number", "account_id", "airline_id")
)


# Columns a new booking row gives after those of _BOOKING_COLUMNS (what the import sets that the file
# does not say).
_NEW_BOOKING_COLUMNS = (
    *_BOOKING_COLUMNS,
    "import_digest",
    "action_required",
    "refund_state",
    "imported_at",
    "updated_at",
)
_NEW_PASSENGER_COLUMNS = ("booking_id", *_PASSENGER_COLUMNS)
_NEW_SEGMENT_COLUMNS = ("booking_id", *_SEGMENT_COLUMNS)
_NEW_ANCILLARY_COLUMNS = ("booking_id", "passenger_id", "segment_id", "type", "description", "price")
_SEARCH_KEY_COLUMNS = ("booking_id", "account_id", "key")


def _insert_new_bookings(
    new: list[BookingData], accounts: dict[str, Account], airlines: dict[str, Airline], now, imported_at
) -> None:
    """Bookings not in the database yet, with passengers, segments, ancillaries and search keys: the rows
    are built here once, and _RowWriter sends them in bulk (COPY on PostgreSQL, the driver's executemany
    on SQLite), a table at a time."""
    if not new:
        return
    writer = _RowWriter(db.session.connection())
    contents = [_content(data, accounts[data.account], airlines) for data in new]
    unset = (False, BookingRefundState.NONE.value, imported_at, now)  # action_required ... updated_at
    booking_ids = writer.insert(
        Booking,
        _NEW_BOOKING_COLUMNS,
        [(*content[0], import_digest(content), *unset) for content in contents],
        ids_by=("order_number",),
    )
    passenger_rows, segment_rows, key_rows = [], [], []
    for booking_id, data, content in zip(booking_ids, new, contents, strict=True):
        passenger_rows.extend((booking_id, *row) for row in content[1].values())
        segment_rows.extend((booking_id, *row) for row in content[2].values())
        account_id = accounts[data.account].id
        key_rows.extend((booking_id, account_id, key) for key in sorted(booking_search_keys(data)))
    # Ancillaries name their passenger and segment: only then are those ids asked for.
    children = any(data.ancillaries for data in new)
    passenger_ids = writer.insert(
        Passenger, _NEW_PASSENGER_COLUMNS, passenger_rows, ids_by=("booking_id", "ref") if children else None
    )
    segment_ids = writer.insert(
        Segment, _NEW_SEGMENT_COLUMNS, segment_rows, ids_by=("booking_id", "ref") if children else None
    )
    if children:
        passenger_id = {row[:2]: i for row, i in zip(passenger_rows, passenger_ids, strict=True)}
        segment_id = {row[:2]: i for row, i in zip(segment_rows, segment_ids, strict=True)}
        writer.insert(
            Ancillary,
            _NEW_ANCILLARY_COLUMNS,
            [
                (
                    booking_id,
                    passenger_id[booking_id, a.passenger_ref],
                    segment_id[booking_id, a.segment_ref],
                    a.type,
                    a.description,
                    a.price,
                )
                for booking_id, data in zip(booking_ids, new, strict=True)
                for a in data.ancillaries
            ],
        )
    writer.insert(BookingSearchKey, _SEARCH_KEY_COLUMNS, key_rows)


class _RowWriter:
    """Inserts many rows of one table, each value bound through its column's type exactly as the ORM
    binds it (Amount as hundredths, UTCDateTime as naive UTC), inside the session's transaction.

    PostgreSQL: COPY ... FROM STDIN on the session's own connection (one stream a table, no round trip a
    batch of rows); ids, when asked for, are taken from the table's sequence first and sent with the rows.
    SQLite: the driver's executemany (in process, no round trips to save); ids read back by a natural key.
    """

    def __init__(self, connection) -> None:
        self.connection = connection
        self.dialect = connection.dialect
        self.copies = self.dialect.name == "postgresql"

    def insert(
        self, model, columns: tuple[str, ...], rows: list[tuple], ids_by: tuple[str, ...] | None = None
    ):
        """Insert rows (values in the order of columns); their ids in row order when ids_by names the
        columns that tell the rows apart (else None)."""
        if not rows:
            return []
        table = model.__table__
        _check_defaults(table, columns)
        bound = self._bound(table, columns, rows)
        if self.copies:
            ids = self._next_ids(table, len(rows)) if ids_by else None
            if ids is not None:
                columns = ("id", *columns)
                bound = [(i, *row) for i, row in zip(ids, bound, strict=True)]
            self._copy(table, columns, bound)
            return ids
        self._executemany(table, columns, bound)
        if ids_by is None:
            return None
        keys = [tuple(row[columns.index(name)] for name in ids_by) for row in rows]
        found = _ids_by(model, ids_by, keys)
        return [found[key] for key in keys]

    def _bound(self, table, columns: tuple[str, ...], rows: list[tuple]) -> list:
        """The rows with each value as its column type binds it (only the columns whose type converts
        anything are touched: strings and integers go as they are)."""
        processors = [
            (i, process)
            for i, name in enumerate(columns)
            if (process := table.c[name].type.dialect_impl(self.dialect).bind_processor(self.dialect))
        ]
        if not processors:
            return rows
        bound = []
        for row in rows:
            values = list(row)
            for i, process in processors:
                values[i] = process(values[i])
            bound.append(tuple(values))
        return bound

    def _next_ids(self, table, count: int) -> list[int]:
        return list(
            self.connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence(%(table)s, 'id')) FROM generate_series(1, %(count)s)",
                {"table": table.name, "count": count},
            ).scalars()
        )

    def _copy(self, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        quote = self.dialect.identifier_preparer
        names = ", ".join(quote.quote(name) for name in columns)
        statement = f"COPY {quote.format_table(table)} ({names}) FROM STDIN"
        # The DBAPI connection of the session's transaction: the rows commit or roll back with the rest.
        with self.connection.connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def _executemany(self, table, columns: tuple[str, ...], rows: list[tuple]) -> None:
        compiled = insert(table).compile(dialect=self.dialect, column_keys=list(columns))
        if not compiled.positional:
            rows = [dict(zip(columns, row, strict=True)) for row in rows]
        elif (order := [columns.index(name) for name in compiled.positiontup]) != list(range(len(columns))):
            rows = [tuple(row[i] for i in order) for row in rows]
        self.connection.exec_driver_sql(str(compiled), rows)


def _check_defaults(table, columns: tuple[str, ...]) -> None:
    """The rows go past SQLAlchemy's insert: a column with a default set in Python would be left empty."""
    missing = [c.name for c in table.columns if c.default is not None and c.name not in columns]
    if missing:
        raise ValueError(f"{table.name}: give {', '.join(missing)} (its default is set in Python)")


def _ids_by(model, names: tuple[str, ...], keys: list[tuple]) -> dict[tuple, int]:
    """id of each row of model whose columns `names` hold one of keys (looked up by the first column)."""
    columns = [getattr(model, name) for name in names]
    firsts = sorted({key[0] for key in keys})
    ids: dict[tuple, int] = {}
    for start in range(0, len(firsts), LOOKUP):
        for *key, row_id in db.session.execute(
            select(*columns, model.id).where(columns[0].in_(firsts[start : start + LOOKUP]))
        ):
            ids[tuple(key)] = row_id
    return ids


def _content(data: BookingData, account: Account, airlines: dict[str, Airline]) -> tuple:
    """A booking's content as the file gives it, in the shape of _Stored.content: what a re-import
    compares with the database, and what its digest covers."""
    return (
        _booking_row(data, account, airlines),
        {p.ref: _passenger_row(p, i) for i, p in enumerate(data.passengers)},
        {s.ref: _segment_row(s, i) for i, s in enumerate(data.segments)},
        [_ancillary_values(a) for a in data.ancillaries],
    )


def import_digest(content: tuple) -> str:
    """The digest stored with a booking of its imported content (_content): 32 hex digits.

    Read from the values' repr, which tells apart any two values the comparison does (and some it does
    not: 95.5 and 95.50, one instant at two offsets). Such a pair only sends the booking the long way
    once: compared in full, found the same, given the new digest."""
    return hashlib.blake2b(repr(content).encode(), digest_size=16).hexdigest()


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


def _apply(
    booking: Booking, data: BookingData, account: Account, airlines, now, digest: str
) -> list[ScheduleChange]:
    booking.account = account
    booking.airline = airlines[data.airline]
    values = dict(zip(_BOOKING_COLUMNS, _booking_row(data, account, airlines), strict=True))
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
        for name, value in zip(_PASSENGER_COLUMNS, _passenger_row(p, position), strict=True):
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
        for name, value in zip(_SEGMENT_COLUMNS, _segment_row(s, position), strict=True):
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
    booking.import_digest = digest  # last: every change above forgot the old one (models.bookings)
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


@dataclass(frozen=True, slots=True)
class _ListShape:
    """Which of My Bookings' conditions a request uses (their values are bound, not built in): the key of
    the list's statements, each built once."""

    in_account: bool
    term: str | None  # the search term's plan: "rare", "frequent" (search.plan_term) or None
    departure_from: bool
    departure_to: bool
    payment_channel: bool
    status: str | None  # "action_required", "cancelled", "ticketed", "other" or None


def _list_query(filters: BookingFilters, account_id: int | None) -> tuple[_ListShape, dict, TermPlan | None]:
    """The shape of the list's conditions for `filters`, their values, and the search term's plan."""
    params: dict = {} if account_id is None else {"account_id": account_id}
    plan = None
    term = search_key(filters.q)
    if term:
        plan = plan_term(term, account_id)
        params.update(term_params(term, account_id))
    for name in ("departure_from", "departure_to", "payment_channel"):
        if getattr(filters, name):
            params[name] = getattr(filters, name)
    status = filters.status or None
    if status and status not in ("action_required", "cancelled", "ticketed"):
        params["status"], status = status, "other"
    shape = _ListShape(
        in_account=account_id is not None,
        term=None if plan is None else ("rare" if plan.rare else "frequent"),
        departure_from=bool(filters.departure_from),
        departure_to=bool(filters.departure_to),
        payment_channel=bool(filters.payment_channel),
        status=status,
    )
    return shape, params, plan


@cache
def _conditions(shape: _ListShape) -> tuple:
    conditions = []
    if shape.in_account:
        # A rare term's bookings are read by id; "+ 0" keeps the planner (SQLite, without statistics)
        # from walking the account's whole index instead. The account applies all the same.
        account = Booking.account_id + 0 if shape.term == "rare" else Booking.account_id
        conditions.append(account == bindparam("account_id"))
    if shape.term:
        conditions.append(match_condition(shape.term == "rare", shape.in_account))
    if shape.departure_from:
        conditions.append(Booking.first_departure_date >= bindparam("departure_from"))
    if shape.departure_to:
        conditions.append(Booking.first_departure_date <= bindparam("departure_to"))
    if shape.payment_channel:
        conditions.append(Booking.payment_channel == bindparam("payment_channel"))
    cancelling = [state.value for state in CANCELLING_REFUND_STATES]
    if shape.status == "action_required":
        conditions.append(Booking.action_required.is_(True))
    elif shape.status == "cancelled":
        # A low-cost carrier's booking refunded whole is cancelled too (domain.refunds).
        conditions.append(or_(Booking.status == "cancelled", Booking.refund_state.in_(cancelling)))
    elif shape.status == "ticketed":
        conditions.append(Booking.status == "ticketed")
        conditions.append(Booking.refund_state.not_in(cancelling))
    elif shape.status == "other":
        conditions.append(Booking.status == bindparam("status"))
    return tuple(conditions)


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


class BookingRow(NamedTuple):
    """One line of My Bookings, read as plain columns (no ORM objects): what the list shows. Its shown
    status and labels are decided once, when the row is made (the template reads each of them)."""

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
    departure_local: datetime
    lead_passenger: str
    other_passengers: int
    shown_status: str
    shown_status_label: str
    payment_channel_label: str


@cache
def _shown(status: str, refund_state: str | None) -> tuple[str, str]:
    """The status a booking shows and its label (domain.refunds decides), for each pair met once."""
    shown = shown_booking_status(status, refund_state or BookingRefundState.NONE)
    return shown, SHOWN_BOOKING_STATUS_LABELS[shown]


@cache
def _lines_statement(shape: _ListShape, sort: Sort) -> Select:
    """The list's bookings as plain rows in the order of BookingRow's fields, the row summary the import
    keeps on the booking last (airline and account by correlated lookups, which leave the plan to the
    booking's own indexes), built once per shape and order; values, limit and offset bound."""
    airline = select(Airline.code, Airline.carrier_type).where(Airline.id == Booking.airline_id)
    return (
        select(
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
            Booking.route,
            Booking.first_departure_at,
            Booking.first_departure_offset,
            Booking.lead_passenger,
            Booking.passenger_count,
        )
        .where(*_conditions(shape))
        .order_by(*BOOKING_SORTS.order_by(sort))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


@cache
def _count_statement(shape: _ListShape) -> Select:
    return select(func.count()).select_from(
        select(Booking.id).where(*_conditions(shape)).limit(bindparam("cap_past")).subquery()
    )


def _booking_rows(found: list) -> list[BookingRow]:
    """My Bookings' rows of `found` (_lines_statement's rows): what a row shows of the booking's segments
    and passengers is kept on the booking by the import, so nothing more is read."""
    return [
        BookingRow(
            order_number,
            pnr,
            account_code,
            airline_code,
            carrier_type,
            payment_channel,
            status,
            refund_state,
            action_required,
            issued_at,
            route,
            local_time(departure_at, offset_minutes),
            lead_passenger,
            passenger_count - 1,
            *_shown(status, refund_state),
            PAYMENT_CHANNELS[payment_channel],
        )
        for (
            order_number,
            pnr,
            account_code,
            airline_code,
            carrier_type,
            payment_channel,
            status,
            refund_state,
            action_required,
            issued_at,
            route,
            departure_at,
            offset_minutes,
            lead_passenger,
            passenger_count,
        ) in found
    ]


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
    shape, params, plan = _list_query(filters, account_id)

    def lines(offset: int, limit: int) -> list:
        return read(_lines_statement(shape, sort), {**params, "limit": limit, "offset": offset}).all()

    def counted(cap: int) -> tuple[int, bool]:
        if plan is not None and filters == BookingFilters(q=filters.q, account_id=filters.account_id):
            # A search and nothing else is counted on the search keys' index alone (kept per keys version).
            return count_matching(search_key(filters.q), account_id, plan, cap)
        total = read(_count_statement(shape), {**params, "cap_past": cap + 1}).scalar()
        return min(total, cap), total > cap

    return probed_page(lines, counted, page, per_page, cap=LIST_COUNT_CAP, complete=_booking_rows)


_ACTION_REQUIRED = {
    everything: apply_bound(
        select(func.count()).select_from(Booking).where(Booking.action_required.is_(True)),
        Booking.account_id,
        everything,
    )
    for everything in (False, True)
}


def action_required_count(scope: Scope) -> int:
    """How many bookings in the scope wait on the agency's answer to an airline change (the statements
    are built once: the badge is on every My Bookings page)."""
    return read(_ACTION_REQUIRED[scope.is_everything], scope.bind()).scalar()


def count_imported_since(since: datetime) -> int:
    """How many bookings an import created or updated since `since` (every account): one query on the
    indexed updated_at."""
    return db.session.scalar(select(func.count()).select_from(Booking).where(Booking.updated_at >= since))


# Booking Details' rarer lists. Most bookings have none of them, so the booking's own query asks whether
# each has any (an index probe each) and only a list with rows costs a query of its own.
_DETAIL_LISTS = (
    # (the booking's list, its model, the options its rows load with); each list is in id order.
    ("ancillaries", Ancillary, ()),
    ("schedule_changes", ScheduleChange, (selectinload(ScheduleChange.refund),)),
    ("baggage_orders", BaggageOrder, ()),
)


@cache
def _booking_details_statement(everything: bool):
    """The select for Booking Details, built once: the booking with what every booking has (airline,
    account, passengers and segments, joined: a handful of rows) and whether it has each rarer list; the
    order number (and the account, for an account's scope) bound at each call."""
    present = [
        select(model.id).where(model.booking_id == Booking.id).exists() for _, model, _ in _DETAIL_LISTS
    ]
    stmt = (
        select(Booking, *present)
        .where(Booking.order_number == bindparam("order_number"))
        .options(
            joinedload(Booking.airline),
            joinedload(Booking.account),
            joinedload(Booking.passengers),
            joinedload(Booking.segments),
        )
    )
    return apply_bound(stmt, Booking.account_id, everything)


def load_booking(order_number: str | None, scope: Scope) -> Booking | None:
    """The booking with this order number in the scope, with all Booking Details shows; else None.

    An unknown order number and another account's booking are the same None. A fixed number of queries:
    one, plus one for each of the rarer lists the booking has (ancillaries, schedule changes, baggage).
    """
    number = (order_number or "").strip().upper()
    if not number or len(number) > 20:
        return None
    found = (
        db.session.execute(_booking_details_statement(scope.is_everything), scope.bind(order_number=number))
        .unique()
        .first()
    )
    if found is None:
        return None
    booking, *present = found
    for (key, model, options), has_rows in zip(_DETAIL_LISTS, present, strict=True):
        rows = (
            db.session.scalars(
                select(model).where(model.booking_id == booking.id).order_by(model.id).options(*options)
            ).all()
            if has_rows
            else []
        )
        set_committed_value(booking, key, rows)
    return booking


def search_bookings_after(
    filters: BookingFilters, scope: Scope, after: tuple[datetime, int] | None, limit: int
) -> Slice:
    """Up to `limit` bookings in the scope after the position `after` (issued time and id), newest issued
    first: the same filters and order as My Bookings, read by position rather than by page number."""
    shape, params, _ = _list_query(filters, scope.narrowed(filters.account_id).account_id)
    conditions = list(_conditions(shape))
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
            ),
            params,
        )
    )
    more = len(items) > limit
    items = items[:limit]
    return Slice(items, (items[-1].issued_at, items[-1].id) if more else None)
