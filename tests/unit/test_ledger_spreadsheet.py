"""Exports a spreadsheet cannot turn into formulas: text neutralised, numbers left as numbers."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from portal.domain.spreadsheet import CSV_BOM, csv_document, csv_line, neutralise, xlsx_document


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1", "=cmd|' /C calc'!A0"],
)
def test_formula_starts_get_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["Refund RF00000001", "TAN/WEI MING", "", " =leading space", "a=b", None])
def test_other_text_is_left_alone(value):
    assert neutralise(value) == value


def test_numbers_stay_numbers():
    assert neutralise(Decimal("-15.00")) == Decimal("-15.00")
    assert neutralise(-3) == -3
    assert csv_line([Decimal("-15.00"), "-15.00", 7]) == "-15.00,'-15.00,7\r\n"


def test_csv_quotes_and_dates():
    line = csv_line(["a,b", 'say "hi"', date(2026, 11, 1), datetime(2026, 11, 1, 9, 5, tzinfo=UTC), None])
    assert next(csv.reader(io.StringIO(line))) == ["a,b", 'say "hi"', "2026-11-01", "2026-11-01 09:05", ""]


def test_csv_document_starts_with_a_bom():
    assert "".join(csv_document([["x"]])).startswith(CSV_BOM + "x")


def test_xlsx_text_is_neutralised_and_amounts_are_numeric():
    data = xlsx_document(
        [("Statement", [("Description", "Amount"), ("=1+2", Decimal("-25.50")), ("@x", Decimal("10.00"))])]
    )
    sheet = load_workbook(io.BytesIO(data))["Statement"]
    assert sheet["A2"].value == "'=1+2" and sheet["A2"].data_type == "s"
    assert sheet["A3"].value == "'@x"
    assert sheet["B2"].data_type == "n" and Decimal(str(sheet["B2"].value)) == Decimal("-25.50")
    assert sheet["B2"].number_format == "#,##0.00;-#,##0.00"
