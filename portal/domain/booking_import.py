"""Reading and checking a booking import file (format "portal-bookings/1", see booking-import.md).

parse_import() turns the file into frozen dataclasses, or raises ImportRejected listing every problem
it found, in document order, so that a file with any error imports nothing. Pure Python: the caller
passes in what the database knows (accounts, airlines, bookings already imported).
"""

from __future__ import annotations

import codecs
import json
import re
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from operator import itemgetter
from types import MappingProxyType
from typing import Any

from portal.domain.errors import DomainError
from portal.domain.money import AmountOutOfRange, UnsupportedCurrency, decimals_phrase, minor_units, to_amount
from portal.domain.text import describe_bad_character, has_control_characters

FORMAT = "portal-bookings/1"

PAYMENT_CHANNELS = ("deposit", "vcc", "vcc_passthrough")
BOOKING_STATUSES = ("ticketed", "cancelled")
PASSENGER_TYPES = ("ADT", "CHD", "INF")
SEGMENT_STATUSES = ("confirmed", "cancelled")
ANCILLARY_TYPES = ("baggage",)
AIRLINE_TYPES = ("LCC", "FSC")

_CENT = Decimal("0.01")


class ImportRejected(DomainError):
    """The file was refused. `errors` lists every problem found, in document order."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(list(errors))
        self.errors = list(errors)

    def __str__(self) -> str:
        return "\n".join(self.errors)


@dataclass(frozen=True)
class ExistingBooking:
    """What the database already holds for an order number, so a re-import can be checked against it."""

    account: str
    passenger_refs: frozenset[str]
    segment_refs: frozenset[str]


@dataclass(frozen=True)
class BaggageOptionData:
    code: str
    description: str
    weight_kg: int
    price: Decimal
    currency: str


@dataclass(frozen=True)
class AirlineData:
    code: str
    name: str
    type: str
    manage_booking_url: str | None
    baggage_options: tuple[BaggageOptionData, ...]


@dataclass(frozen=True)
class PassengerData:
    ref: str
    type: str
    title: str
    first_name: str
    last_name: str
    ticket_number: str
    base: Decimal
    taxes: Decimal
    refundable_taxes: Decimal
    refundable: bool
    cancellation_fee: Decimal
    changeable: bool
    change_fee: Decimal


@dataclass(frozen=True)
class SegmentData:
    ref: str
    flight_number: str
    origin: str
    destination: str
    departure: datetime
    arrival: datetime
    cabin: str
    status: str


@dataclass(frozen=True)
class AncillaryData:
    passenger_ref: str
    segment_ref: str
    type: str
    description: str
    price: Decimal


@dataclass(frozen=True)
class BookingData:
    index: int
    order_number: str
    account: str
    pnr: str
    airline: str
    payment_channel: str
    currency: str
    status: str
    issued_at: datetime
    contact_email: str
    contact_phone: str
    passengers: tuple[PassengerData, ...]
    segments: tuple[SegmentData, ...]
    ancillaries: tuple[AncillaryData, ...]


@dataclass(frozen=True)
class ImportFile:
    airlines: tuple[AirlineData, ...]
    bookings: tuple[BookingData, ...]


def parse_import(
    raw: bytes | str | dict,
    *,
    accounts: Mapping[str, str],
    airlines: Collection[str],
    existing: Mapping[str, ExistingBooking] = MappingProxyType({}),
    ticket_owners: Mapping[str, str] = MappingProxyType({}),
) -> ImportFile:
    """Check an import file and return its content, or raise ImportRejected listing every error.

    accounts maps the client account codes in the database to their currency; airlines holds the
    airline codes in the database; existing maps order numbers already imported to what is known of
    them; ticket_owners maps ticket numbers of the file already in the database to the order number
    of the booking that holds them. A null optional field counts as absent.

    A ticket number belongs to one booking: used twice in the file, or already held by another
    booking in the database, it is refused, naming both bookings. A booking re-imported in the same
    file gives its old tickets up (its new content is what is checked).
    """
    document = raw if isinstance(raw, dict) else _load(raw)
    checker = ImportChecker(document, accounts=accounts, airlines=airlines)
    value = document.get("bookings")
    bookings = checker.bookings(value, 0, existing, ticket_owners) if isinstance(value, list) else []
    checker.finish()
    # No errors means every parser returned a complete value, so no None is left in what follows.
    return ImportFile(airlines=checker.airlines, bookings=tuple(bookings))


class ImportChecker:
    """The checks of parse_import(), for a file read a part at a time: the top level once, then the
    bookings in chunks, then finish(). A chunk is checked against what the database holds for it, so a
    caller can check and write a million bookings without holding them all.

    What the file holds across chunks (order and ticket numbers used, to refuse a second use) is kept
    compactly: a number and an index each.
    """

    def __init__(
        self, document: Mapping[str, Any], *, accounts: Mapping[str, str], airlines: Collection[str]
    ):
        """document: the file's top-level object; its "bookings" member is only asked whether it is a
        list (the bookings come to bookings())."""
        self._errors: list[_Error] = []
        self._top = top = _Fields(document, _Spot("", (), self._errors))
        top.required("format", _choice(FORMAT))
        airline_codes: dict[str, str] = {}
        self.airlines: tuple[AirlineData, ...] = top.optional(
            "airlines", _list_of(lambda v, at: _airline(v, at, airline_codes)), ()
        )
        self._context = _Context(accounts, frozenset(airlines).union(airline_codes), {})
        self._list = top.required("bookings", _is_list)
        self._count = 0
        top.finish()

    @property
    def failed(self) -> bool:
        return bool(self._errors)

    def seen_before(self, order_number: str, start: int) -> bool:
        """Whether a booking before bookings[start] of the file had this order number."""
        return self._context.order_numbers.get(order_number, start) < start

    def bookings(
        self,
        items: Sequence[Any],
        start: int,
        existing: Mapping[str, ExistingBooking],
        ticket_owners: Mapping[str, str],
    ) -> list[BookingData | None]:
        """Check bookings[start:start + len(items)] of the file.

        existing: what the database holds for the order numbers of these items; ticket_owners: the
        order number of the booking holding each of their tickets in the database.
        """
        context = self._context
        context.existing, context.ticket_owners = existing, ticket_owners
        spot = self._top.at("bookings")
        checked = []
        for index, item in enumerate(items, start):
            # Errors are prefixed with the order number, known only once the booking has been read.
            found: list[_Error] = []
            context.taken = []
            checked.append(_booking(item, _Spot("", (), found), index, context))
            if found or context.taken:
                label = context.labels[index]
                place = spot.item(index)
                self._errors.extend(
                    ((*place.order, *order), f"{place.path} ({label}): {message}") for order, message in found
                )
                context.taken_tickets.extend(
                    (owner, ((*place.order, *order), f"{place.path} ({label}): {message}"))
                    for owner, (order, message) in context.taken
                )
        self._count += len(items)
        return checked

    def finish(self) -> None:
        """Raise ImportRejected with every error found, in document order; nothing when the file is good."""
        context = self._context
        # A ticket another booking holds is taken only if that booking is not re-imported in the file
        # (then it gives its old tickets up), which is known once every booking has been read.
        self._errors.extend(
            error for owner, error in context.taken_tickets if owner not in context.order_numbers
        )
        context.taken_tickets.clear()
        if self._list is not None and self._count == 0 and not self.airlines:
            self._errors.append((self._top.at("bookings").order, "file: has no bookings and no airlines"))
        if self._errors:
            raise ImportRejected([message for _, message in sorted(self._errors, key=itemgetter(0))])


def _is_list(value: Any, spot: _Spot) -> bool | None:
    if isinstance(value, list):
        return True
    spot.fail("must be a list")
    return None


# --- Reading the JSON -------------------------------------------------------------------------------


class _JsonObject(dict):
    """A JSON object that remembers the keys given more than once (json itself keeps only the last)."""

    repeated: tuple[str, ...] = ()


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        obj = _JsonObject(pairs)
        obj.repeated = tuple(key for key, count in Counter(key for key, _ in pairs).items() if count > 1)
    return obj


# What could put a character has_control_characters() refuses into a loaded string: the character itself
# (JSON allows DEL raw; a str may hold a lone surrogate), or an escape \b, \f, \u0000-\u001f, \u007f
# or a surrogate \ud800-\udfff.
# A text with neither needs no walk over its strings (most files: the walk costs more than the parse).
_MAY_HIDE_CONTROLS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]|\\(?:[bf]|u(?:00[01][0-9a-fA-F]|007[fF]|[dD][89a-fA-F][0-9a-fA-F]{2}))"
)


def _load(raw: bytes | str) -> dict[str, Any]:
    if isinstance(raw, bytes | bytearray):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            raise ImportRejected(["file: not UTF-8 text"]) from None
    # Spreadsheet tools on Windows like to start UTF-8 files with a byte-order mark.
    text = raw.removeprefix("\ufeff")
    try:
        # Numbers become Decimal or int, never float, so a misplaced number cannot round money silently.
        document = json.loads(
            text,
            parse_float=Decimal,
            parse_int=int,
            parse_constant=Decimal,
            object_pairs_hook=_json_object,
        )
    except json.JSONDecodeError as exc:
        message = f"file: not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})"
        raise ImportRejected([message]) from None
    except ValueError:  # int() refuses numbers with thousands of digits
        raise ImportRejected(["file: not valid JSON (a number has too many digits)"]) from None
    except RecursionError:
        raise ImportRejected(["file: not valid JSON (nested too deeply)"]) from None
    if not isinstance(document, dict):
        raise ImportRejected(["file: must be a JSON object"])
    if not _MAY_HIDE_CONTROLS.search(text):
        return document
    bad = [
        f"{path or 'file'}: contains a character that is not text ({describe_bad_character(value)}); "
        "remove it and export the file again"
        for path, value in _strings(document)
        if has_control_characters(value)
    ]
    if bad:
        raise ImportRejected(bad[:100])
    return document


def _strings(value, path: str = ""):
    """Every string of a loaded document (keys too) with its path, e.g. bookings[0].passengers[1].last_name.
    Iterative: the document came through json.loads, but a deep one must not exhaust the stack here."""
    stack = [(path, value)]
    while stack:
        at, item = stack.pop()
        if isinstance(item, str):
            yield at, item
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                child_at = f"{at}.{key}" if at else str(key)
                if isinstance(key, str) and has_control_characters(key):
                    yield at or "file", key
                stack.append((child_at, child))
        elif isinstance(item, list):
            stack.extend((f"{at}[{i}]", child) for i, child in reversed(list(enumerate(item))))


def read_document(raw: bytes | str) -> dict[str, Any]:
    """The import file read as JSON (numbers exact, text checked), or ImportRejected saying why not.

    parse_import() takes its result, so a file is read once however many look-ups precede the checks.
    """
    return _load(raw)


# --- Reading a file too big to load ----------------------------------------------------------------


def remaining_bytes(stream) -> int:
    """Bytes from the current position of a seekable binary file to its end (the position is kept)."""
    here = stream.tell()
    end = stream.seek(0, 2)
    stream.seek(here)
    return end - here


class StreamedFile:
    """A portal-bookings/1 file read from a binary stream one booking at a time, so that a million
    bookings never sit in memory together. The same reading rules as read_document(): UTF-8 (a leading
    byte-order mark ignored), numbers exact, repeated keys remembered, no control character in any
    string; the same "file: ..." errors, raised as ImportRejected.

    bookings() yields the items of the top-level "bookings" list in order. Before the first one,
    `header` holds the top-level members read so far, with "bookings" present (its value is STREAMED
    when it is a list); once bookings() is exhausted it holds every member, and `late` says whether a
    member came after "bookings" (then the bookings were checked without knowing it: read them again).
    A string with a control character is reported when bookings() ends, like read_document() would.
    """

    BLOCK = 1 << 20
    LONGEST_ITEM = 32 << 20  # a booking longer than this is taken to be broken JSON

    def __init__(self, stream) -> None:
        self._stream = stream
        self._utf8 = codecs.getincrementaldecoder("utf-8")("strict")
        self._json = json.JSONDecoder(
            parse_float=Decimal, parse_int=int, parse_constant=Decimal, object_pairs_hook=_json_object
        )
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._started = False
        self._offset = 0  # characters of the file before _buf
        self._lines = 1  # line number at the start of _buf
        self._line_start = 0  # file offset where that line starts
        self._bad: list[str] = []
        self.header: dict[str, Any] = {}
        self.late = False

    # Reading blocks -----------------------------------------------------------------------------------

    def _more(self) -> bool:
        if self._eof:
            return False
        data = self._stream.read(self.BLOCK)
        try:
            text = self._utf8.decode(data, final=not data)
        except UnicodeDecodeError:
            raise ImportRejected(["file: not UTF-8 text"]) from None
        if not data:
            self._eof = True
        if not text:  # the end, or half a character so far: the buffer stays as it is
            return not self._eof
        if not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        consumed = self._buf[: self._pos]
        newlines = consumed.count("\n")
        if newlines:
            self._lines += newlines
            self._line_start = self._offset + consumed.rindex("\n") + 1
        self._offset += self._pos
        self._buf = self._buf[self._pos :] + text
        self._pos = 0
        return True

    def _fail(self, message: str, pos: int) -> ImportRejected:
        before = self._buf[:pos]
        line = self._lines + before.count("\n")
        start = self._offset + before.rindex("\n") + 1 if "\n" in before else self._line_start
        column = self._offset + pos - start + 1
        return ImportRejected([f"file: not valid JSON (line {line} column {column}: {message})"])

    def _peek(self) -> str:
        """The next character that is not white space ("" at the end of the file)."""
        while True:
            match = _WHITESPACE.match(self._buf, self._pos)
            self._pos = match.end()
            if self._pos < len(self._buf) or not self._more():
                return self._buf[self._pos : self._pos + 1]

    def _expect(self, char: str, message: str) -> None:
        if self._peek() != char:
            raise self._fail(message, self._pos)
        self._pos += 1

    def _value(self, path: str) -> Any:
        """The JSON value at the current place (after white space), its strings checked."""
        self._peek()
        while True:
            try:
                value, end = self._json.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError as exc:
                where = exc.pos - self._pos  # _more() moves the buffer
                if len(self._buf) - self._pos < self.LONGEST_ITEM and self._more():
                    continue  # cut by the end of the block: read on
                raise self._fail(exc.msg, self._pos + where) from None
            except ValueError:  # int() refuses numbers with thousands of digits
                raise ImportRejected(["file: not valid JSON (a number has too many digits)"]) from None
            except RecursionError:
                raise ImportRejected(["file: not valid JSON (nested too deeply)"]) from None
            if len(self._buf) - end < 64 and self._more():
                continue  # a number cut by the end of the block decodes short ("1." as 1): read on
            break
        if _MAY_HIDE_CONTROLS.search(self._buf, self._pos, end) and len(self._bad) < 100:
            self._bad.extend(
                f"{at or 'file'}: contains a character that is not text ({describe_bad_character(text)}); "
                "remove it and export the file again"
                for at, text in _strings(value, path)
                if has_control_characters(text)
            )
        self._pos = end
        return value

    # The document -------------------------------------------------------------------------------------

    def bookings(self):
        if self._peek() != "{":
            self._value("")  # JSON errors first, like json.loads
            raise ImportRejected(["file: must be a JSON object"])
        self._pos += 1
        pairs: list[tuple[str, Any]] = []
        seen_bookings = False
        if self._peek() == "}":
            self._pos += 1
        else:
            while True:
                if self._peek() != '"':
                    raise self._fail("Expecting property name enclosed in double quotes", self._pos)
                key = self._value("")
                self._expect(":", "Expecting ':' delimiter")
                if key == "bookings" and self._peek() == "[":
                    pairs.append((key, STREAMED))
                    self.header = _json_object(pairs)
                    seen_bookings = True
                    yield from self._items()
                else:
                    pairs.append((key, self._value(key)))
                    self.late = self.late or seen_bookings
                if self._peek() == ",":
                    self._pos += 1
                    continue
                self._expect("}", "Expecting ',' delimiter")
                break
        if self._peek() != "":
            raise self._fail("Extra data", self._pos)
        self.header = _json_object(pairs)
        if self._bad:
            raise ImportRejected(self._bad[:100])

    def _items(self):
        self._pos += 1  # [
        if self._peek() == "]":
            self._pos += 1
            return
        index = 0
        while True:
            yield self._value(f"bookings[{index}]")
            index += 1
            char = self._peek()
            self._pos += 1
            if char == "]":
                return
            if char != ",":
                raise self._fail("Expecting ',' delimiter", self._pos - 1)


class _Streamed(list):
    """Stands for the "bookings" list of a streamed file in its header: a list, read elsewhere."""


STREAMED = _Streamed()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


# --- Where errors go --------------------------------------------------------------------------------

# An error: its position in the document (indexes of keys and list items, for sorting) and its text.
_Error = tuple[tuple[int, ...], str]


class _Spot:
    """A place in the document: the path printed in errors, its position, and the error list.

    Worked out only when an error is reported there: a valid file asks for hundreds of thousands of
    places and prints none. A place is its parent plus a list index or a field name (whose position
    is its index among the keys of `obj`, or after all of them for a missing field).
    """

    __slots__ = ("_parent", "_step", "_obj", "_path", "_order", "errors")

    def __init__(self, path: str, order: tuple[int, ...], errors: list[_Error]) -> None:
        self._parent: _Spot | None = None
        self._step: int | str | None = None
        self._obj: dict | None = None
        self._path: str | None = path
        self._order: tuple[int, ...] | None = order
        self.errors = errors

    @classmethod
    def _child(cls, parent: _Spot, step: int | str, obj: dict | None = None) -> _Spot:
        spot = cls.__new__(cls)
        spot._parent, spot._step, spot._obj = parent, step, obj
        spot._path = spot._order = None
        spot.errors = parent.errors
        return spot

    @property
    def path(self) -> str:
        if self._path is None:
            parent, step = self._parent.path, self._step
            if isinstance(step, int):
                self._path = f"{parent}[{step}]"
            else:
                self._path = f"{parent}.{step}" if parent else step
        return self._path

    @property
    def order(self) -> tuple[int, ...]:
        if self._order is None:
            step = self._step
            if isinstance(step, int):
                position = step
            else:
                obj = self._obj
                position = list(obj).index(step) if step in obj else len(obj)
            self._order = (*self._parent.order, position)
        return self._order

    @property
    def index(self) -> int:
        """The index of this place in its list."""
        return self._step

    def fail(self, message: str) -> None:
        self.errors.append((self.order, f"{self.path}: {message}" if self.path else message))

    def item(self, index: int) -> _Spot:
        return _Spot._child(self, index)

    def field(self, name: str, obj: dict) -> _Spot:
        """Field `name` of the object `obj` found at this place."""
        return _Spot._child(self, name, obj)


_Parser = Callable[[Any, _Spot], Any]  # returns the checked value, or None after reporting an error


class _Fields:
    """Hands out the fields of one JSON object; fields nobody asked for are reported as unknown."""

    def __init__(self, obj: dict[str, Any], spot: _Spot) -> None:
        self.obj = obj
        self._spot = spot
        self._asked: set[str] = set()

    def at(self, name: str) -> _Spot:
        """Where field `name` is, or for a missing field, where it would be: after all present ones."""
        return self._spot.field(name, self.obj)

    def required(self, name: str, parse: _Parser) -> Any:
        self._asked.add(name)
        obj = self.obj
        if name not in obj:
            self.at(name).fail("required")
            return None
        return parse(obj[name], _Spot._child(self._spot, name, obj))

    def optional(self, name: str, parse: _Parser, default: Any = None) -> Any:
        self._asked.add(name)
        obj = self.obj
        if obj.get(name) is None:
            return default
        return parse(obj[name], _Spot._child(self._spot, name, obj))

    def finish(self) -> None:
        """Report unknown and repeated fields; call once every field has been asked for."""
        for name in self.obj:
            if name not in self._asked:
                self.at(name).fail("unknown field")
        for name in getattr(self.obj, "repeated", ()):
            self.at(name).fail("given more than once")


def _fields(value: Any, spot: _Spot) -> _Fields | None:
    if not isinstance(value, dict):
        spot.fail("must be an object")
        return None
    return _Fields(value, spot)


def _list_of(parse_item: _Parser, *, non_empty: bool = False) -> _Parser:
    def parse(value: Any, spot: _Spot) -> tuple | None:
        if not isinstance(value, list):
            spot.fail("must be a list")
            return None
        if non_empty and not value:
            spot.fail("must not be empty")
            return None
        return tuple(parse_item(item, spot.item(i)) for i, item in enumerate(value))

    return parse


# --- Plain values -----------------------------------------------------------------------------------


@cache  # one parser per length, made once: a file asks for them hundreds of thousands of times
def _text(max_length: int) -> _Parser:
    def parse(value: Any, spot: _Spot) -> str | None:
        if not isinstance(value, str):
            spot.fail("must be a string")
        elif not value.strip():
            spot.fail("must not be empty")
        elif len(value) > max_length:
            spot.fail(f"must be at most {max_length} characters")
        else:
            return value
        return None

    return parse


def _pattern(pattern: str | re.Pattern[str], description: str) -> _Parser:
    regex = re.compile(pattern)

    def parse(value: Any, spot: _Spot) -> str | None:
        if not isinstance(value, str):
            spot.fail("must be a string")
        elif not regex.fullmatch(value):
            spot.fail(description)
        else:
            return value
        return None

    return parse


@cache
def _choice(*options: str) -> _Parser:
    wanted = ", ".join(f'"{option}"' for option in options)
    message = f"must be {wanted}" if len(options) == 1 else f"must be one of {wanted}"

    def parse(value: Any, spot: _Spot) -> str | None:
        if isinstance(value, str) and value in options:
            return value
        spot.fail(message)
        return None

    return parse


_ORDER_NUMBER = re.compile(r"[A-Z0-9]{6,20}")
_order_number = _pattern(_ORDER_NUMBER, "must be 6-20 uppercase letters or digits")
_pnr = _pattern(r"[A-Z0-9]{5,8}", "must be 5-8 uppercase letters or digits")
_airline_code = _pattern(r"[A-Z0-9]{2}", "must be 2 uppercase letters or digits (IATA airline code)")
_airport = _pattern(r"[A-Z]{3}", "must be a 3-letter IATA airport code in capitals")
_currency_code = _pattern(r"[A-Z]{3}", 'must be a 3-letter ISO 4217 currency code such as "SGD"')


def _currency(value: Any, spot: _Spot) -> str | None:
    """An ISO 4217 code the portal can hold (not one with 3 decimals: portal.domain.money)."""
    code = _currency_code(value, spot)
    if code is not None:
        try:
            minor_units(code)
        except UnsupportedCurrency as exc:
            spot.fail(str(exc))
            return None
    return code


def _check_decimals(amounts: Mapping[str, Decimal | None], currency: str | None, spot: _Spot) -> None:
    """Each amount has at most the currency's decimals (JPY none): refused, never rounded."""
    # Amounts reach here with at most two decimals and ten integer digits (_amount), which every currency
    # with two decimals holds: only a currency with fewer needs a look at each amount.
    if currency is None or _minor_units(currency) >= 2:
        return
    for name, amount in amounts.items():
        if amount is None:
            continue
        try:
            to_amount(amount, currency)
        except AmountOutOfRange:
            spot.fail(f"{name} {amount}: {currency} amounts have {decimals_phrase(currency)}")


@cache
def _minor_units(currency: str) -> int:
    return minor_units(currency)


_flight_number = _pattern(r"[A-Z0-9]{2}[0-9]{1,4}[A-Z]?", 'must be a flight number such as "SQ978"')
_ticket_number = _pattern(r"[0-9]{3}-[0-9]{10}", 'must be a ticket number such as "618-2400000001"')
_email_shape = _pattern(
    r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+", 'must be an email address such as "name@example.com"'
)
_PHONE = re.compile(r"[0-9 +()-]{6,25}")
_AMOUNT = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")


def _email(value: Any, spot: _Spot) -> str | None:
    address = _email_shape(value, spot)
    if address is not None and len(address) > 254:
        spot.fail("must be at most 254 characters")
        return None
    return address


def _url(value: Any, spot: _Spot) -> str | None:
    if not isinstance(value, str):
        spot.fail("must be a string")
    elif not value.startswith(("https://", "http://")):
        spot.fail("must start with https:// or http://")
    elif re.search(r"\s", value):
        spot.fail("must not contain spaces")
    elif len(value) > 500:
        spot.fail("must be at most 500 characters")
    else:
        return value
    return None


def _phone(value: Any, spot: _Spot) -> str | None:
    if not isinstance(value, str):
        spot.fail("must be a string")
    elif not _PHONE.fullmatch(value):
        spot.fail("must be 6-25 characters of digits, spaces and + - ( )")
    elif sum(char.isdigit() for char in value) < 6:
        spot.fail("must have at least 6 digits")
    else:
        return value
    return None


def _amount(value: Any, spot: _Spot) -> Decimal | None:
    match = _AMOUNT.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        spot.fail('must be an amount string such as "420.00"')
        return None
    sign, whole, decimals = match.groups()
    if sign:
        spot.fail("must not be negative")
    elif decimals and len(decimals) > 2:
        spot.fail("must have at most 2 decimal places")
    elif len(whole.lstrip("0")) > 10:
        spot.fail("is too large (at most 10 digits before the decimal point)")
    else:
        return Decimal(value).quantize(_CENT)
    return None


def _flag(value: Any, spot: _Spot) -> bool | None:
    if isinstance(value, bool):
        return value
    spot.fail("must be true or false")
    return None


def _weight(value: Any, spot: _Spot) -> int | None:
    # bool is an int subclass, but true is not a weight.
    if not isinstance(value, int) or isinstance(value, bool):
        spot.fail("must be a whole number")
    elif not 1 <= value <= 100:
        spot.fail("must be between 1 and 100")
    else:
        return value
    return None


def _moment(value: Any, spot: _Spot) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    offset = moment.utcoffset() if moment is not None else None
    if offset is None:
        spot.fail("not an ISO 8601 time with offset")
    # The database keeps offsets in whole minutes, and real ones run from -12:00 to +14:00.
    elif offset % timedelta(minutes=1) or not timedelta(hours=-12) <= offset <= timedelta(hours=14):
        spot.fail("offset must be whole minutes between -12:00 and +14:00")
    # Far-off years would overflow when converted to UTC.
    elif not 1970 <= moment.year <= 2199:
        spot.fail("year must be between 1970 and 2199")
    else:
        return moment
    return None


# --- Airlines ---------------------------------------------------------------------------------------


def _airline(value: Any, spot: _Spot, seen_codes: dict[str, str]) -> AirlineData | None:
    fields = _fields(value, spot)
    if fields is None:
        return None
    code = fields.required("code", _airline_code)
    _check_unique_in_file(code, seen_codes, spot.path, fields.at("code"))
    option_codes: set[str] = set()
    airline = AirlineData(
        code=code,
        name=fields.required("name", _text(120)),
        type=fields.required("type", _choice(*AIRLINE_TYPES)),
        manage_booking_url=fields.optional("manage_booking_url", _url),
        baggage_options=fields.optional(
            "baggage_options", _list_of(lambda v, at: _baggage_option(v, at, option_codes)), ()
        ),
    )
    fields.finish()
    return airline


def _baggage_option(value: Any, spot: _Spot, seen_codes: set[str]) -> BaggageOptionData | None:
    fields = _fields(value, spot)
    if fields is None:
        return None
    code = fields.required("code", _text(20))
    _check_unique(code, seen_codes, fields.at("code"))
    option = BaggageOptionData(
        code=code,
        description=fields.required("description", _text(200)),
        weight_kg=fields.required("weight_kg", _weight),
        price=fields.required("price", _amount),
        currency=fields.required("currency", _currency),
    )
    _check_decimals({"price": option.price}, option.currency, fields.at("price"))
    fields.finish()
    return option


def _check_unique_in_file(value: str | None, seen: dict[str, str], where: str, spot: _Spot) -> None:
    """Report value if an earlier item of the file (recorded in seen as its path) already had it."""
    if value is None:
        return
    first = seen.setdefault(value, where)
    if first != where:
        spot.fail(f"{value} appears twice in this file (also {first})")


def _check_unique(value: str | None, seen: set[str], spot: _Spot) -> None:
    """Report value if an earlier item of the same list already had it."""
    if value in seen:
        spot.fail(f"{value} is used twice")
    elif value is not None:
        seen.add(value)


# --- Bookings ---------------------------------------------------------------------------------------


@dataclass
class _Context:
    """What every booking is checked against, plus what earlier bookings of the file used."""

    accounts: Mapping[str, str]
    airlines: frozenset[str]
    existing: Mapping[str, ExistingBooking]
    ticket_owners: Mapping[str, str] = field(default_factory=dict)
    # Tickets held by another booking in the database: (its order number, the error), per booking read
    # (taken) and for the file (taken_tickets, reported by finish() unless that booking is in the file).
    taken: list[tuple[str, _Error]] = field(default_factory=list)
    taken_tickets: list[tuple[str, _Error]] = field(default_factory=list)
    # Each booking's label as errors name it (list index = booking index); order number -> first index;
    # ticket number (as a number) -> index of its booking << 16 | its passenger's index.
    labels: list[str] = field(default_factory=list)
    order_numbers: dict[str, int] = field(default_factory=dict)
    ticket_numbers: dict[int, int] = field(default_factory=dict)
    order_number: str | None = None

    def place_of_ticket(self, packed: int) -> str:
        booking, passenger = packed >> 16, packed & 0xFFFF
        return f"bookings[{booking}] ({self.labels[booking]}) passengers[{passenger}]"


_ECHO_LIMIT = 24


def _echo(value: Any) -> str:
    """A value the file got wrong, shown back safely: JSON-quoted (control and non-ASCII characters
    escaped, so nothing can hide or reorder text), at most _ECHO_LIMIT characters of it."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    shown = json.dumps(text[:_ECHO_LIMIT], ensure_ascii=True)
    return shown + ("…" if len(text) > _ECHO_LIMIT else "")


def _booking_label(value: Any) -> str:
    """How errors name a booking: its order number, else the malformed value given for it."""
    if not isinstance(value, dict):
        return _echo(value)
    if value.get("order_number") is None:
        return "no order number"
    order_number = value["order_number"]
    if isinstance(order_number, str) and _ORDER_NUMBER.fullmatch(order_number):
        return order_number
    return f"order number {_echo(order_number)}"


def _booking(value: Any, spot: _Spot, index: int, context: _Context) -> BookingData | None:
    if index == len(context.labels):
        context.labels.append(_booking_label(value))
    fields = _fields(value, spot)
    if fields is None:
        return None
    order_number = fields.required("order_number", _order_number)
    context.order_number = order_number
    if order_number is not None:
        first = context.order_numbers.setdefault(order_number, index)
        if first != index:
            fields.at("order_number").fail(
                f"{order_number} appears twice in this file (also bookings[{first}])"
            )
    before = context.existing.get(order_number) if order_number is not None else None

    account = fields.required("account", _text(20))
    if account is not None and account not in context.accounts:
        fields.at("account").fail(f"no client account with code {account}")
    elif before is not None and account is not None and account != before.account:
        fields.at("account").fail(
            f"booking {order_number} belongs to account {before.account} and cannot move to {account}"
        )
    pnr = fields.required("pnr", _pnr)
    airline = fields.required("airline", _airline_code)
    if airline is not None and airline not in context.airlines:
        fields.at("airline").fail(f"unknown airline code {airline}")
    payment_channel = fields.required("payment_channel", _choice(*PAYMENT_CHANNELS))
    currency = fields.required("currency", _currency)
    account_currency = context.accounts.get(account) if account is not None else None
    if currency is not None and account_currency is not None and currency != account_currency:
        fields.at("currency").fail(
            f"{currency} does not match account {account}'s currency {account_currency}"
        )
    status = fields.required("status", _choice(*BOOKING_STATUSES))
    issued_at = fields.required("issued_at", _moment)
    email, phone = fields.required("contact", _contact) or (None, None)

    passengers = fields.required("passengers", lambda v, at: _passengers(v, at, index, context, before))
    segments = fields.required("segments", lambda v, at: _segments(v, at, before))
    passenger_refs, segment_refs = _refs(passengers), _refs(segments)
    ancillaries = fields.optional(
        "ancillaries", _list_of(lambda v, at: _ancillary(v, at, passenger_refs, segment_refs)), ()
    )
    for i, p in enumerate(passengers or ()):
        if p is not None:
            figures = ("base", "taxes", "refundable_taxes", "cancellation_fee", "change_fee")
            _check_decimals({f: getattr(p, f) for f in figures}, currency, fields.at("passengers").item(i))
    for i, a in enumerate(ancillaries or ()):
        if a is not None:
            _check_decimals({"price": a.price}, currency, fields.at("ancillaries").item(i))
    fields.finish()
    return BookingData(
        index=index,
        order_number=order_number,
        account=account,
        pnr=pnr,
        airline=airline,
        payment_channel=payment_channel,
        currency=currency,
        status=status,
        issued_at=issued_at,
        contact_email=email,
        contact_phone=phone,
        passengers=passengers,
        segments=segments,
        ancillaries=ancillaries,
    )


def _contact(value: Any, spot: _Spot) -> tuple[str | None, str | None] | None:
    fields = _fields(value, spot)
    if fields is None:
        return None
    contact = fields.required("email", _email), fields.required("phone", _phone)
    fields.finish()
    return contact


def _refs(items: tuple | None) -> frozenset[str] | None:
    """The refs of passengers or segments, or None if some could not be read (so checks skip them)."""
    if items is None or any(item is None or item.ref is None for item in items):
        return None
    return frozenset(item.ref for item in items)


def _check_kept(items: tuple, known: frozenset[str], spot: _Spot, advice: str = "") -> None:
    """A re-import must keep every ref imported before: other records point at them."""
    refs = _refs(items)
    if refs is not None:
        for ref in sorted(known - refs):
            spot.fail(f"{ref} was imported before and cannot be removed{advice}")


# --- Passengers -------------------------------------------------------------------------------------


def _passengers(
    value: Any, spot: _Spot, booking_index: int, context: _Context, before: ExistingBooking | None
) -> tuple[PassengerData | None, ...] | None:
    refs: set[str] = set()
    parse_list = _list_of(lambda v, at: _passenger(v, at, refs, booking_index, context), non_empty=True)
    passengers = parse_list(value, spot)
    if passengers is None:
        return None
    types = [p.type if p is not None else None for p in passengers]
    if None not in types:
        adults, infants = types.count("ADT"), types.count("INF")
        if infants and not adults:
            spot.fail("an infant needs an adult on the same booking")
        elif infants > adults:
            spot.fail(
                f"more infants ({infants}) than adults ({adults}): each infant needs an adult of its own"
            )
    if before is not None:
        _check_kept(passengers, before.passenger_refs, spot)
    return passengers


def _passenger(
    value: Any, spot: _Spot, seen_refs: set[str], booking_index: int, context: _Context
) -> PassengerData | None:
    fields = _fields(value, spot)
    if fields is None:
        return None
    ref = fields.required("ref", _text(20))
    _check_unique(ref, seen_refs, fields.at("ref"))
    passenger_type = fields.required("type", _choice(*PASSENGER_TYPES))
    title = fields.required("title", _text(20))
    first_name = fields.required("first_name", _text(60))
    last_name = fields.required("last_name", _text(60))
    ticket_number = fields.required("ticket_number", _ticket_number)
    if ticket_number is not None:
        packed = context.ticket_numbers.setdefault(
            int(ticket_number[:3] + ticket_number[4:]), booking_index << 16 | spot.index
        )
        if packed != booking_index << 16 | spot.index:
            fields.at("ticket_number").fail(
                f"{ticket_number} appears twice in this file (also {context.place_of_ticket(packed)})"
            )
    owner = context.ticket_owners.get(ticket_number) if ticket_number is not None else None
    if owner is not None and owner != context.order_number:
        at = fields.at("ticket_number")
        context.taken.append(
            (owner, (at.order, f"{at.path}: {ticket_number} is already a ticket of booking {owner}"))
        )
    base, taxes, refundable_taxes = fields.required("fare", _fare) or (None,) * 3
    refundable, cancellation_fee, changeable, change_fee = (
        fields.required("fare_rule", _fare_rule) or (None,) * 4
    )
    fields.finish()
    return PassengerData(
        ref=ref,
        type=passenger_type,
        title=title,
        first_name=first_name,
        last_name=last_name,
        ticket_number=ticket_number,
        base=base,
        taxes=taxes,
        refundable_taxes=refundable_taxes,
        refundable=refundable,
        cancellation_fee=cancellation_fee,
        changeable=changeable,
        change_fee=change_fee,
    )


def _fare(value: Any, spot: _Spot) -> tuple[Decimal | None, ...] | None:
    fields = _fields(value, spot)
    if fields is None:
        return None
    base = fields.required("base", _amount)
    taxes = fields.required("taxes", _amount)
    refundable_taxes = fields.required("refundable_taxes", _amount)
    if taxes is not None and refundable_taxes is not None and refundable_taxes > taxes:
        fields.at("refundable_taxes").fail(f"must not exceed taxes ({taxes})")
    fields.finish()
    return base, taxes, refundable_taxes


def _fare_rule(value: Any, spot: _Spot) -> tuple[Any, ...] | None:
    fields = _fields(value, spot)
    if fields is None:
        return None
    rule = (
        fields.required("refundable", _flag),
        fields.required("cancellation_fee", _amount),
        fields.required("changeable", _flag),
        fields.required("change_fee", _amount),
    )
    fields.finish()
    return rule


# --- Segments and ancillaries -----------------------------------------------------------------------


def _segments(
    value: Any, spot: _Spot, before: ExistingBooking | None
) -> tuple[SegmentData | None, ...] | None:
    refs: set[str] = set()
    segments = _list_of(lambda v, at: _segment(v, at, refs), non_empty=True)(value, spot)
    if segments is not None and before is not None:
        _check_kept(segments, before.segment_refs, spot, "; set its status to cancelled instead")
    return segments


def _segment(value: Any, spot: _Spot, seen_refs: set[str]) -> SegmentData | None:
    fields = _fields(value, spot)
    if fields is None:
        return None
    ref = fields.required("ref", _text(20))
    _check_unique(ref, seen_refs, fields.at("ref"))
    flight_number = fields.required("flight_number", _flight_number)
    origin = fields.required("origin", _airport)
    destination = fields.required("destination", _airport)
    if destination is not None and destination == origin:
        fields.at("destination").fail(f"must differ from origin ({origin})")
    departure = fields.required("departure", _moment)
    arrival = fields.required("arrival", _moment)
    # Aware datetimes compare as instants, whatever their offsets.
    if departure is not None and arrival is not None and arrival <= departure:
        fields.at("arrival").fail(f"must be after departure ({departure.isoformat()})")
    segment = SegmentData(
        ref=ref,
        flight_number=flight_number,
        origin=origin,
        destination=destination,
        departure=departure,
        arrival=arrival,
        cabin=fields.required("cabin", _text(20)),
        status=fields.required("status", _choice(*SEGMENT_STATUSES)),
    )
    fields.finish()
    return segment


def _ancillary(
    value: Any, spot: _Spot, passenger_refs: frozenset[str] | None, segment_refs: frozenset[str] | None
) -> AncillaryData | None:
    fields = _fields(value, spot)
    if fields is None:
        return None
    passenger_ref = fields.required("passenger", _text(20))
    if passenger_ref is not None and passenger_refs is not None and passenger_ref not in passenger_refs:
        fields.at("passenger").fail(f"no passenger with ref {passenger_ref} in this booking")
    segment_ref = fields.required("segment", _text(20))
    if segment_ref is not None and segment_refs is not None and segment_ref not in segment_refs:
        fields.at("segment").fail(f"no segment with ref {segment_ref} in this booking")
    ancillary = AncillaryData(
        passenger_ref=passenger_ref,
        segment_ref=segment_ref,
        type=fields.required("type", _choice(*ANCILLARY_TYPES)),
        description=fields.required("description", _text(200)),
        price=fields.required("price", _amount),
    )
    fields.finish()
    return ancillary
