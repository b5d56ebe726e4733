"""Spreadsheet exports (CSV and XLSX) that a spreadsheet program cannot turn into formulas.

A text cell that starts with = + - @, a tab or a carriage return is read by Excel, LibreOffice and Google
Sheets as a formula (or the start of one), so an order note such as `=HYPERLINK(...)` typed by anyone
would run on the reader's machine. Such text gets a leading apostrophe. Numbers (Decimal, int) are written
as numbers and never altered, so a debit of -15.00 stays a number a spreadsheet can add up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | Decimal | date | datetime | None


def neutralise(value: Cell) -> Cell:
    """The cell as it may safely be exported: text that a spreadsheet would evaluate gets an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal | int):
        return str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(neutralise(value))


def csv_line(values: Sequence[Cell]) -> str:
    """One CSV record (with its line end), every text cell neutralised."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_csv_text(v) for v in values])
    return buffer.getvalue()


# Excel opens a UTF-8 CSV as UTF-8 only when it starts with a byte-order mark.
CSV_BOM = "\ufeff"


def csv_document(rows: Iterable[Sequence[Cell]]) -> Iterable[str]:
    """A whole CSV as chunks of text (for a streamed response): the BOM, then one line per row."""
    yield CSV_BOM
    for row in rows:
        yield csv_line(row)


AMOUNT_FORMAT = "#,##0.00;-#,##0.00"


def xlsx_document(sheets: Iterable[tuple[str, Iterable[Sequence[Cell]]]], *, bold_first_row=True) -> bytes:
    """An XLSX workbook with one sheet per (title, rows); text neutralised, amounts as numbers.

    Written in openpyxl's write-only mode, so memory stays flat however many rows there are.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        for index, row in enumerate(rows):
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
                if isinstance(value, Decimal):
                    cell.number_format = AMOUNT_FORMAT
                if index == 0 and bold_first_row:
                    cell.font = bold
                cells.append(cell)
            sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: Cell):
    if isinstance(value, datetime):
        # Excel has no time zones: the caller passes local times; drop the offset, keep the wall time.
        return value.replace(tzinfo=None)
    return neutralise(value)
