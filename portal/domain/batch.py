"""Batch refunds (SPEC 5): the upload template, reading a filled template safely, and each row's outcome.

Pure Python, no Flask and no database: `read_upload()` turns the bytes of a CSV or XLSX file into rows
(or refuses the whole file with a message for the user), and `decide()` gives every row its outcome from
plain facts about the bookings named in the file. The service loads those facts in a few queries and
writes what `decide()` planned in bulk.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from portal.domain.errors import DomainError
from portal.domain.money import Money
from portal.domain.refunds import (
    CouponState,
    PassengerQuote,
    QuoteCase,
    RefundPath,
    coupon_state,
    fare_facts,
    path_refusal,
    quote_refund,
)
from portal.domain.spreadsheet import csv_document, xlsx_document

MAX_ROWS = 10_000
MAX_BYTES = 5 * 1024 * 1024
# An XLSX is a zip: its parts may inflate to far more than the upload. Refuse before inflating anything.
MAX_XLSX_UNCOMPRESSED = 60 * 1024 * 1024
MAX_XLSX_ENTRIES = 200
# Every line a sheet or CSV may hold, blank and comment lines included, and the cells of a sheet: a filled
# template is MAX_ROWS order numbers, a header and some notes; these bounds are checked before parsing.
MAX_SHEET_ROWS = 2 * MAX_ROWS + 1000
MAX_SHEET_CELLS = MAX_SHEET_ROWS * 16
MAX_NOTE = 1000
MAX_PASSENGERS_CELL = 1000

HEADERS = ("Order number", "Passengers (optional)", "Note (optional)")
EXAMPLE_ORDER = "EXAMPLE"
EXAMPLE_ROW = (EXAMPLE_ORDER, "TAN/WEI MING; 618-2400000001", "Refund submitted to the airline on 2 Nov")
INSTRUCTIONS = (
    "How to fill this template",
    "One order number per row, in the Order number column. Each row starts an Agent & Passenger "
    "Initiated refund of the order's unflown tickets.",
    "Passengers (optional): to refund only some passengers, list their names as LAST/FIRST or their "
    "ticket numbers, separated by semicolons. Leave it empty to refund every passenger on the order.",
    "Note (optional): anything the operations team should know, such as when the refund was submitted "
    "to the airline.",
    "The row with the order number EXAMPLE is ignored; you may delete it. Rows starting with # are "
    "ignored too.",
    f"At most {MAX_ROWS:,} order numbers and 5 MB per file. Save as CSV (UTF-8) or as an Excel "
    "workbook (.xlsx).",
    "Orders paid by virtual card (VCC) cannot be refunded this way: the airline pays the card directly.",
    "Uploading the same file again creates nothing new: orders already being refunded are reported.",
)

_ORDER_NUMBER = re.compile(r"[A-Z0-9]{6,20}")
_NOT_KEY = re.compile(r"[^A-Z0-9]")
_TICKET = re.compile(r"[0-9]{10}|[0-9]{13}")


def _key(text: str) -> str:
    return _NOT_KEY.sub("", text.upper())


# --- The template ---------------------------------------------------------------------------------------


def template_csv() -> bytes:
    """The CSV template: instructions as # lines, the headers, one example row (UTF-8 with BOM)."""
    rows = [[f"# {line}"] for line in INSTRUCTIONS] + [list(HEADERS), list(EXAMPLE_ROW)]
    return "".join(csv_document(rows)).encode("utf-8")


def template_xlsx() -> bytes:
    """The XLSX template: a Refunds sheet (headers and the example row) and an Instructions sheet."""
    return xlsx_document(
        [
            ("Refunds", [HEADERS, EXAMPLE_ROW]),
            ("Instructions", [[INSTRUCTIONS[0]], *([line] for line in INSTRUCTIONS[1:])]),
        ]
    )


# --- Reading an upload ------------------------------------------------------------------------------------


class FileRefused(DomainError, ValueError):
    """The file cannot be read at all; nothing in it is processed. The message is for the user."""


@dataclass(frozen=True, slots=True)
class UploadRow:
    """One data row as read: `line` is the row number the user sees in the spreadsheet."""

    line: int
    order_number: str
    passengers: tuple[str, ...] = ()
    note: str | None = None
    error: str | None = None  # malformed: why

    @property
    def passengers_text(self) -> str:
        return "; ".join(self.passengers)


@dataclass(frozen=True, slots=True)
class Upload:
    file_format: str  # "csv" or "xlsx"
    rows: tuple[UploadRow, ...]


def read_upload(filename: str, data: bytes) -> Upload:
    """Read a filled template. Raises FileRefused for a file that cannot be read as a whole: wrong type,
    not UTF-8, a broken workbook, more than MAX_ROWS rows or more than MAX_BYTES."""
    name = (filename or "").strip().lower()
    if not data:
        raise FileRefused("The file is empty. Fill the template with order numbers and upload it again.")
    if len(data) > MAX_BYTES:
        raise FileRefused("The file is larger than 5 MB. Split it into smaller files and upload each.")
    if name.endswith(".xlsx"):
        return Upload("xlsx", _rows(_xlsx_cells(data)))
    if name.endswith(".csv"):
        if data.startswith(b"PK\x03\x04"):
            raise FileRefused(
                "This file is an Excel workbook named .csv. Save it as .xlsx or as CSV (UTF-8)."
            )
        return Upload("csv", _rows(_csv_cells(data)))
    raise FileRefused(
        "Upload the template as a .csv or .xlsx file (Download File Template gives you both). "
        "Other file types, such as .xls or .pdf, cannot be read."
    )


def _csv_cells(data: bytes) -> Iterable[tuple[int, list]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileRefused(
            "The CSV file is not UTF-8 text. In Excel choose Save As → CSV UTF-8 (comma delimited), "
            "or upload the .xlsx workbook instead."
        ) from None
    if "\x00" in text:
        raise FileRefused("The CSV file contains binary data. Upload the template saved as CSV or as .xlsx.")
    first = next((line for line in text.splitlines() if line.strip() and not line.startswith("#")), "")
    # Excel in many European locales saves "CSV" with semicolons.
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        yield from enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1)
    except csv.Error as exc:
        raise FileRefused(f"The CSV file could not be read ({exc}). Check it was saved as CSV.") from None


def _check_zip(data: bytes) -> None:
    """Refuse a workbook before openpyxl inflates it: not a zip, too many parts, or a zip bomb."""
    if not data.startswith(b"PK\x03\x04"):
        raise FileRefused("The file is not a valid .xlsx workbook. Save it from Excel as .xlsx, or use CSV.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise FileRefused(
            "The .xlsx workbook is damaged and cannot be read. Save it again and retry."
        ) from None
    if len(entries) > MAX_XLSX_ENTRIES:
        raise FileRefused("The .xlsx workbook has too many parts to be a filled template.")
    if sum(entry.file_size for entry in entries) > MAX_XLSX_UNCOMPRESSED:
        raise FileRefused(
            "The .xlsx workbook unpacks to far more data than a filled template; it was refused."
        )
    names = {entry.filename for entry in entries}
    if "xl/workbook.xml" not in names:
        raise FileRefused("The file is not a valid .xlsx workbook. Save it from Excel as .xlsx, or use CSV.")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for entry in entries:
            name = entry.filename
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                _bounded(archive, entry, (b"<row", b":row"), MAX_SHEET_ROWS, "rows")
                _bounded(archive, entry, (b"<c ", b"<c>", b":c "), MAX_SHEET_CELLS, "cells")
            elif name == "xl/sharedStrings.xml":
                _bounded(archive, entry, (b"<si>", b"<si ", b":si"), MAX_SHEET_CELLS, "texts")


def _bounded(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, tokens: tuple[bytes, ...], limit: int, what: str
):
    """Count the tokens (rows, cells, texts) of a workbook part by scanning its bytes, before any XML
    parser sees them, and refuse past `limit`: a sheet of a million comment rows must not keep a worker
    busy for a minute (issue 12). Stops reading as soon as the limit is passed."""
    found = 0
    tail = b""
    try:
        with archive.open(entry) as part:
            while chunk := part.read(1 << 16):
                window = tail + chunk
                # The tail (shorter than any token) is carried over so a token split across two chunks
                # is seen, and subtracted so that it is not counted twice.
                found += sum(window.count(t) - tail.count(t) for t in tokens)
                if found > limit:
                    raise FileRefused(
                        f"The workbook holds more than {limit:,} {what}, far more than a filled template "
                        f"({MAX_ROWS:,} order numbers at most). Split it into smaller files and upload each."
                    )
                tail = window[-3:]
    except FileRefused:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, RuntimeError):
        raise FileRefused(
            "The .xlsx workbook is damaged and cannot be read. Save it again and retry."
        ) from None


def _xlsx_cells(data: bytes) -> Iterable[tuple[int, list]]:
    from openpyxl import load_workbook
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise FileRefused("Excel files cannot be read safely on this server; upload CSV instead.")
    _check_zip(data)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many types for a damaged file; all mean the same to the user
        raise FileRefused(
            "The .xlsx workbook is damaged and cannot be read. Save it again and retry."
        ) from None
    try:
        sheet = workbook["Refunds"] if "Refunds" in workbook.sheetnames else workbook.worksheets[0]
        for line, cells in enumerate(sheet.iter_rows(max_col=len(HEADERS) + 5, values_only=True), 1):
            yield line, list(cells)
    except FileRefused:
        raise
    except Exception:
        raise FileRefused(
            "The .xlsx workbook is damaged and cannot be read. Save it again and retry."
        ) from None
    finally:
        workbook.close()


def _header_key(value) -> str:
    return re.sub(r"[^a-z]", "", str(value or "").lower().split("(")[0])


_HEADER_NAMES = {"ordernumber": 0, "orderno": 0, "order": 0, "passengers": 1, "passenger": 1, "note": 2}


def _rows(cells: Iterable[tuple[int, list]]) -> tuple[UploadRow, ...]:
    columns: dict[int, int] | None = None
    rows: list[UploadRow] = []
    for line, raw in cells:
        if line > MAX_SHEET_ROWS:
            raise FileRefused(
                f"The file has more than {MAX_SHEET_ROWS:,} lines, far more than a filled template "
                f"({MAX_ROWS:,} order numbers at most). Split it into smaller files and upload each."
            )
        values = ["" if v is None else v for v in raw]
        texts = [v.strip() if isinstance(v, str) else v for v in values]
        if all(v == "" for v in texts):
            continue
        first = texts[0] if texts else ""
        if isinstance(first, str) and first.startswith("#"):
            continue
        if columns is None:
            columns = _columns(texts)
            continue
        row = _row(line, texts, columns)
        if row is None:
            continue
        rows.append(row)
        if len(rows) > MAX_ROWS:
            raise FileRefused(
                f"The file has more than {MAX_ROWS:,} order numbers. Split it into files of at most "
                f"{MAX_ROWS:,} rows and upload each."
            )
    if columns is None:
        raise FileRefused(
            "The file has no header row. Use the template from Download File Template: its first row is "
            f"{', '.join(HEADERS)}."
        )
    if not rows:
        raise FileRefused("The file has no order numbers. Add one order number per row below the headers.")
    return tuple(rows)


def _columns(header: list) -> dict[int, int]:
    columns: dict[int, int] = {}
    for index, value in enumerate(header):
        field_index = _HEADER_NAMES.get(_header_key(value))
        if field_index is not None and field_index not in columns:
            columns[field_index] = index
    if 0 not in columns:
        raise FileRefused(
            "The first row must be the template's headers, with an Order number column. "
            "Download File Template shows the layout."
        )
    return columns


def _cell(texts: list, columns: dict[int, int], field_index: int):
    index = columns.get(field_index)
    if index is None or index >= len(texts):
        return ""
    return texts[index]


def _as_text(value) -> str | None:
    """A cell as text. Whole numbers typed into Excel come back as int or float: read them as digits."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool | datetime):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return str(int(value))
    return None


def _row(line: int, texts: list, columns: dict[int, int]) -> UploadRow | None:
    order_raw = _as_text(_cell(texts, columns, 0))
    passengers_raw = _as_text(_cell(texts, columns, 1))
    note_raw = _cell(texts, columns, 2)
    note = _as_text(note_raw) if not isinstance(note_raw, float) else str(note_raw)
    if order_raw is None:
        return UploadRow(
            line, str(_cell(texts, columns, 0))[:40], error="The order number is not text or digits."
        )
    order_number = order_raw.upper()
    if order_number == EXAMPLE_ORDER:
        return None
    passengers = tuple(p.strip() for p in re.split(r"[;\n]", passengers_raw or "") if p.strip())
    note = (note or "").strip() or None
    if not order_number:
        return UploadRow(line, "", passengers, note, "The order number is missing.")
    if not _ORDER_NUMBER.fullmatch(order_number):
        return UploadRow(
            line, order_number[:40], passengers, note, "An order number is 6–20 letters or digits."
        )
    if passengers_raw is None:
        return UploadRow(line, order_number, (), note, "The passengers cell is not text.")
    if len(passengers_raw) > MAX_PASSENGERS_CELL:
        return UploadRow(line, order_number, (), note, "The passengers cell is too long.")
    if note is not None and len(note) > MAX_NOTE:
        return UploadRow(
            line, order_number, passengers, None, f"The note is longer than {MAX_NOTE} characters."
        )
    return UploadRow(line, order_number, passengers, note)


# --- Deciding each row ------------------------------------------------------------------------------------


class BatchOutcome(StrEnum):
    CREATED = "created"
    ALREADY_REFUNDING = "already_refunding"
    UNKNOWN_ORDER = "unknown_order"
    VCC_NOT_ALLOWED = "vcc_not_allowed"
    NOTHING_REFUNDABLE = "nothing_refundable"
    MALFORMED = "malformed"


OUTCOME_LABELS: Mapping[BatchOutcome, str] = MappingProxyType(
    {
        BatchOutcome.CREATED: "Created",
        BatchOutcome.ALREADY_REFUNDING: "Already refunding",
        BatchOutcome.UNKNOWN_ORDER: "Unknown order",
        BatchOutcome.VCC_NOT_ALLOWED: "VCC not allowed",
        BatchOutcome.NOTHING_REFUNDABLE: "Nothing refundable",
        BatchOutcome.MALFORMED: "Malformed",
    }
)


@dataclass(frozen=True, slots=True)
class PassengerFacts:
    id: int
    ref: str
    title: str
    first_name: str
    last_name: str
    ticket_number: str
    base: Decimal
    taxes: Decimal
    refundable_taxes: Decimal
    refundable: bool
    cancellation_fee: Decimal

    @property
    def name(self) -> str:
        return f"{self.last_name}/{self.first_name}"

    def matches(self, wanted: str) -> bool:
        """Whether a passengers-cell entry names this passenger: a ticket number (with or without the
        airline prefix) or a name as LAST/FIRST, FIRST LAST or LAST FIRST, title optional."""
        key = _key(wanted)
        if not key:
            return False
        ticket = _key(self.ticket_number)
        if _TICKET.fullmatch(key):
            return key in (ticket, ticket[3:])
        last, first, title = _key(self.last_name), _key(self.first_name), _key(self.title)
        return key in {last + first, first + last, last + first + title, title + first + last}


@dataclass(frozen=True, slots=True)
class SegmentFacts:
    id: int
    ref: str
    status: str
    departure_at: datetime


@dataclass(frozen=True, slots=True)
class BookingFacts:
    """What the decision needs to know about one booking, as loaded by the service."""

    id: int
    order_number: str
    account_id: int
    payment_channel: str
    status: str
    currency: str
    passengers: tuple[PassengerFacts, ...]
    segments: tuple[SegmentFacts, ...]
    # (passenger id, segment id) -> code of the live refund that holds the coupon
    taken: Mapping[tuple[int, int], str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PlannedRefund:
    """A refund to create for a row: the coupons and the quote (service fee 0: not an operator path)."""

    booking: BookingFacts
    coupons: tuple[tuple[int, int], ...]  # (passenger id, segment id)
    lines: tuple[tuple[PassengerFacts, PassengerQuote], ...]
    estimated_amount: Decimal | None
    note: str | None


@dataclass(frozen=True, slots=True)
class RowDecision:
    row: UploadRow
    outcome: BatchOutcome
    message: str
    plan: PlannedRefund | None = None

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self.outcome]


def decide(
    rows: Sequence[UploadRow], bookings: Mapping[str, BookingFacts], *, account_id: int, now: datetime
):
    """Every row's outcome, in file order. `bookings` maps order number -> facts for orders that exist
    (any account: another account's order is reported exactly like one that does not exist).

    Rows are decided one after another, so a coupon planned by an earlier row counts as taken for later
    rows: an order listed twice is created once and then reported as already refunding.
    """
    planned: dict[tuple[int, int], str] = {}
    return [_decide_row(row, bookings, account_id, now, planned) for row in rows]


def _decide_row(row, bookings, account_id, now, planned) -> RowDecision:
    if row.error:
        return RowDecision(row, BatchOutcome.MALFORMED, row.error)
    booking = bookings.get(row.order_number)
    if booking is None or booking.account_id != account_id:
        return RowDecision(
            row, BatchOutcome.UNKNOWN_ORDER, f"No order {row.order_number} was found for your account."
        )
    refusal = path_refusal(RefundPath.AGENT_BATCH, booking.payment_channel)
    if refusal:
        return RowDecision(row, BatchOutcome.VCC_NOT_ALLOWED, refusal)
    if booking.status != "ticketed":
        return RowDecision(row, BatchOutcome.NOTHING_REFUNDABLE, "The booking is cancelled.")

    chosen = list(booking.passengers)
    if row.passengers:
        chosen = []
        for wanted in row.passengers:
            found = [p for p in booking.passengers if p.matches(wanted)]
            if not found:
                return RowDecision(
                    row, BatchOutcome.MALFORMED, f"No passenger “{wanted}” on order {booking.order_number}."
                )
            chosen.extend(p for p in found if p not in chosen)

    coupons: list[tuple[int, int]] = []
    holding: set[str] = set()
    unflown: dict[int, set[str]] = {}
    selected: dict[int, set[str]] = {}
    for passenger in chosen:
        for segment in booking.segments:
            key = (passenger.id, segment.id)
            held = booking.taken.get(key)
            code = f"refund {held}" if held else planned.get(key)
            state = coupon_state(
                booking_status=booking.status,
                segment_status=segment.status,
                departure_utc=segment.departure_at,
                now=now,
                in_live_refund=code is not None,
            )
            if state is not CouponState.FLOWN:
                unflown.setdefault(passenger.id, set()).add(segment.ref)
            if state is CouponState.REFUNDABLE:
                coupons.append(key)
                selected.setdefault(passenger.id, set()).add(segment.ref)
            elif code is not None:
                holding.add(code)
    if not coupons:
        if holding:
            return RowDecision(
                row, BatchOutcome.ALREADY_REFUNDING, f"Already in {', '.join(sorted(holding))}."
            )
        return RowDecision(row, BatchOutcome.NOTHING_REFUNDABLE, "Every ticket on the order has been flown.")

    plan = _plan(booking, chosen, coupons, selected, unflown, row.note)
    for key in coupons:
        planned[key] = f"the refund created by row {row.line} of this file"
    names = ", ".join(p.name for p, _ in plan.lines)
    message = f"Refund for {names}."
    if holding:
        message += f" Other tickets are already in {', '.join(sorted(holding))}."
    return RowDecision(row, BatchOutcome.CREATED, message, plan)


def _plan(booking, chosen, coupons, selected, unflown, note) -> PlannedRefund:
    """The quote exactly as create_refund() computes it for an agent & passenger initiated refund."""
    currency = booking.currency
    passengers = [p for p in chosen if p.id in selected]
    quote = quote_refund(
        (
            (p.ref, fare_facts(p, currency), frozenset(selected[p.id]), frozenset(unflown[p.id]))
            for p in passengers
        ),
        currency=currency,
        service_fee=Money.zero(currency),  # not an operator path: no service fee
        involuntary=False,
    )
    total = quote.total
    return PlannedRefund(
        booking=booking,
        coupons=tuple(coupons),
        lines=tuple(zip(passengers, (q for _, q in quote.passengers), strict=True)),
        estimated_amount=None if total is None else total.amount,
        note=note,
    )


def outcome_counts(decisions: Iterable[RowDecision]) -> dict[BatchOutcome, int]:
    """How many rows had each outcome, in the order outcomes are listed (decisions, or stored rows:
    anything with an `outcome`)."""
    counts = dict.fromkeys(BatchOutcome, 0)
    for decision in decisions:
        counts[BatchOutcome(decision.outcome)] += 1
    return counts


__all__ = [
    "BatchOutcome",
    "BookingFacts",
    "FileRefused",
    "OUTCOME_LABELS",
    "PassengerFacts",
    "PlannedRefund",
    "QuoteCase",
    "RowDecision",
    "SegmentFacts",
    "Upload",
    "UploadRow",
    "decide",
    "outcome_counts",
    "read_upload",
    "template_csv",
    "template_xlsx",
]
