"""Batch refunds, without a database: reading the template (CSV and XLSX), refusals, each row outcome."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook

from portal.domain import batch
from portal.domain.batch import (
    EXAMPLE_ROW,
    HEADERS,
    MAX_ROWS,
    BatchOutcome,
    BookingFacts,
    FileRefused,
    PassengerFacts,
    SegmentFacts,
    decide,
    outcome_counts,
    read_upload,
    template_csv,
    template_xlsx,
)

NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)


def csv_bytes(*lines: str, bom=False) -> bytes:
    text = "\r\n".join(lines) + "\r\n"
    return (("\ufeff" if bom else "") + text).encode()


def xlsx_bytes(rows, title="Refunds") -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = title
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- the template ---------------------------------------------------------------------------------------


def test_csv_template_has_instructions_headers_and_an_example_that_is_ignored():
    data = template_csv()
    text = data.decode("utf-8-sig")
    assert "How to fill this template" in text
    assert ",".join(HEADERS) in text and EXAMPLE_ROW[0] in text
    with pytest.raises(FileRefused, match="no order numbers"):
        read_upload("refund-template.csv", data)


def test_xlsx_template_has_headers_example_and_instructions_sheet():
    data = template_xlsx()
    wb = load_workbook(io.BytesIO(data), read_only=True)
    rows = list(wb["Refunds"].iter_rows(values_only=True))
    assert rows[0] == HEADERS and rows[1] == EXAMPLE_ROW
    assert "Instructions" in wb.sheetnames
    wb.close()
    with pytest.raises(FileRefused, match="no order numbers"):
        read_upload("refund-template.xlsx", data)


def test_filled_csv_template_is_read_row_by_row_with_spreadsheet_line_numbers():
    filled = template_csv() + b"at10000001,,\r\nAT10000002,TAN/WEI MING; 618-2400000002,sent 2 Nov\r\n\r\n"
    upload = read_upload("mine.CSV", filled)
    assert upload.file_format == "csv"
    first, second = upload.rows
    assert (first.order_number, first.passengers, first.note, first.error) == ("AT10000001", (), None, None)
    assert second.passengers == ("TAN/WEI MING", "618-2400000002") and second.note == "sent 2 Nov"
    assert second.line == first.line + 1 and first.line == 11  # 8 instruction lines, headers, example


def test_semicolon_csv_from_european_excel_and_headers_in_another_order():
    upload = read_upload("x.csv", csv_bytes("Note;Order number", "hello;AT10000001", bom=True))
    [row] = upload.rows
    assert row.order_number == "AT10000001" and row.note == "hello"


def test_xlsx_numbers_typed_in_excel_are_read_as_digits():
    rows = [HEADERS, (10000001, None, None), (10000002.0, 6182400000001, 42), ("AT10000003", None, "ok")]
    upload = read_upload("filled.xlsx", xlsx_bytes(rows))
    assert upload.file_format == "xlsx"
    assert [r.order_number for r in upload.rows] == ["10000001", "10000002", "AT10000003"]
    assert upload.rows[1].passengers == ("6182400000001",) and upload.rows[1].note == "42"
    assert all(r.error is None for r in upload.rows)


def test_xlsx_odd_cells_make_a_row_malformed_not_the_file():
    rows = [HEADERS, (datetime(2026, 1, 1), None, None), (1.5, None, None), ("AT10000001", None, None)]
    upload = read_upload("filled.xlsx", xlsx_bytes(rows, title="Sheet1"))
    assert [bool(r.error) for r in upload.rows] == [True, True, False]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (",TAN/WEI,note", "order number is missing"),
        ("AT-1000!,,", "6–20 letters or digits"),
        ("AB12,,", "6–20 letters or digits"),
        ("AT10000001,," + "x" * 1001, "longer than 1000"),
    ],
)
def test_malformed_rows(line, message):
    [row] = read_upload("x.csv", csv_bytes(",".join(HEADERS), line)).rows
    assert message in row.error


# --- files refused whole -----------------------------------------------------------------------------------


def zip_with(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def many_rows(n):
    return csv_bytes("Order number", *(f"AT{i:08d}" for i in range(n)))


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("refunds.csv", b"", "empty"),
        ("refunds.xls", b"\xd0\xcf\x11\xe0old excel", ".csv or .xlsx"),
        ("refunds.pdf", b"%PDF-1.4", ".csv or .xlsx"),
        ("refunds", b"Order number\nAT10000001\n", ".csv or .xlsx"),
        ("refunds.csv", "Order number\nAT10000001,Müller\n".encode("latin-1"), "not UTF-8"),
        ("refunds.csv", b"Order number\x00\nAT1\x00", "binary"),
        ("refunds.csv", zip_with({"xl/workbook.xml": b"<x/>"}), "Excel workbook named .csv"),
        ("refunds.xlsx", b"Order number\nAT10000001\n", "not a valid .xlsx"),
        ("refunds.xlsx", zip_with({"hello.txt": b"hi"}), "not a valid .xlsx"),
        ("refunds.xlsx", template_xlsx()[:900], "damaged"),
        ("refunds.xlsx", zip_with({"xl/workbook.xml": b"<not xml", "[Content_Types].xml": b"?"}), "damaged"),
        ("refunds.csv", b"AT10000001\nAT10000002\n", "Order number column"),
        ("refunds.csv", b"# only comments\n\n", "no header row"),
        ("refunds.csv", b"x" * (5 * 1024 * 1024 + 1), "larger than 5 MB"),
    ],
    ids=[
        "empty",
        "xls",
        "pdf",
        "no-extension",
        "latin-1",
        "nul-bytes",
        "zip-named-csv",
        "text-named-xlsx",
        "zip-without-workbook",
        "truncated-xlsx",
        "broken-xml",
        "no-header",
        "comments-only",
        "over-5-mb",
    ],
)
def test_unreadable_files_are_refused_whole(filename, data, message):
    with pytest.raises(FileRefused, match=message):
        read_upload(filename, data)


def test_more_than_10000_rows_is_refused_and_10000_is_fine():
    assert len(read_upload("ok.csv", many_rows(MAX_ROWS)).rows) == MAX_ROWS
    with pytest.raises(FileRefused, match="more than 10,000"):
        read_upload("big.csv", many_rows(MAX_ROWS + 1))


def test_xlsx_over_10000_rows_is_refused():
    data = xlsx_bytes([HEADERS, *((f"AT{i:08d}",) for i in range(MAX_ROWS + 1))])
    with pytest.raises(FileRefused, match="more than 10,000"):
        read_upload("big.xlsx", data)


def test_zip_bomb_is_refused_before_it_is_inflated():
    bomb = zip_with({"xl/workbook.xml": b"<w/>", "xl/worksheets/sheet1.xml": b"\0" * (61 * 1024 * 1024)})
    assert len(bomb) < 1024 * 1024  # small on the wire
    with pytest.raises(FileRefused, match="unpacks to far more"):
        read_upload("bomb.xlsx", bomb)


def test_workbook_with_thousands_of_parts_is_refused():
    parts = {"xl/workbook.xml": b"<w/>", **{f"xl/p{i}.xml": b"" for i in range(300)}}
    with pytest.raises(FileRefused, match="too many parts"):
        read_upload("parts.xlsx", zip_with(parts))


# --- each row's outcome ------------------------------------------------------------------------------------


def passenger(pid, ref, last, first, ticket, refundable=True):
    return PassengerFacts(
        id=pid,
        ref=ref,
        title="MR",
        first_name=first,
        last_name=last,
        ticket_number=ticket,
        base=Decimal("420.00"),
        taxes=Decimal("85.50"),
        refundable_taxes=Decimal("60.00"),
        refundable=refundable,
        cancellation_fee=Decimal("150.00"),
    )


def booking(
    order="AT10000001",
    account=1,
    channel="deposit",
    status="ticketed",
    departures=(10, 17),
    taken=None,
    passengers=None,
):
    return BookingFacts(
        id=hash(order) % 100000,
        order_number=order,
        account_id=account,
        payment_channel=channel,
        status=status,
        currency="SGD",
        passengers=passengers
        or (
            passenger(11, "P1", "TAN", "WEI MING", "618-2400000001"),
            passenger(12, "P2", "LIM", "HUI LING", "618-2400000002"),
        ),
        segments=tuple(
            SegmentFacts(20 + i, f"S{i + 1}", "confirmed", NOW + timedelta(days=d))
            for i, d in enumerate(departures)
        ),
        taken=taken or {},
    )


def rows_of(*lines: str):
    return read_upload("x.csv", csv_bytes(",".join(HEADERS), *lines)).rows


def decide_one(line, *bookings_):
    facts = {b.order_number: b for b in bookings_}
    [decision] = decide(rows_of(line), facts, account_id=1, now=NOW)
    return decision


def test_created_refunds_every_unflown_coupon_of_every_passenger_with_the_quote():
    d = decide_one("AT10000001,,sent to airline", booking())
    assert d.outcome is BatchOutcome.CREATED
    assert set(d.plan.coupons) == {(11, 20), (11, 21), (12, 20), (12, 21)}
    assert d.plan.estimated_amount == Decimal("660.00")  # 2 x (420 - 150 + 60), no service fee
    assert d.plan.note == "sent to airline"


@pytest.mark.parametrize("wanted", ["LIM/HUI LING", "hui ling lim", "618-2400000002", "2400000002"])
def test_passengers_limit_the_refund_by_name_or_ticket(wanted):
    d = decide_one(f"AT10000001,{wanted},", booking())
    assert d.outcome is BatchOutcome.CREATED
    assert {p for p, _ in d.plan.coupons} == {12}


def test_a_passenger_not_on_the_order_makes_the_row_malformed():
    d = decide_one("AT10000001,NOBODY/HERE,", booking())
    assert d.outcome is BatchOutcome.MALFORMED and "NOBODY/HERE" in d.message


def test_unknown_and_another_accounts_order_read_the_same():
    unknown = decide_one("ZZ99999999,,")
    other = decide_one("OT20000001,LIM/HUI LING,", booking("OT20000001", account=2))
    assert unknown.outcome is other.outcome is BatchOutcome.UNKNOWN_ORDER
    assert other.message == unknown.message.replace("ZZ99999999", "OT20000001")


@pytest.mark.parametrize("channel", ["vcc", "vcc_passthrough"])
def test_card_orders_are_not_allowed(channel):
    d = decide_one("AT10000001,,", booking(channel=channel))
    assert d.outcome is BatchOutcome.VCC_NOT_ALLOWED and "VCC" in d.message


def test_nothing_refundable_when_cancelled_or_all_flown():
    assert decide_one("AT10000001,,", booking(status="cancelled")).outcome is BatchOutcome.NOTHING_REFUNDABLE
    flown = decide_one("AT10000001,,", booking(departures=(-3, -1)))
    assert flown.outcome is BatchOutcome.NOTHING_REFUNDABLE and "flown" in flown.message


def test_already_refunding_names_the_refund():
    taken = {(p, s): "RF00000007" for p in (11, 12) for s in (20, 21)}
    d = decide_one("AT10000001,,", booking(taken=taken))
    assert d.outcome is BatchOutcome.ALREADY_REFUNDING and "RF00000007" in d.message


def test_some_coupons_taken_creates_the_rest_without_an_exact_quote():
    d = decide_one("AT10000001,,", booking(taken={(11, 20): "RF00000007"}))
    assert d.outcome is BatchOutcome.CREATED and (11, 20) not in d.plan.coupons
    assert d.plan.estimated_amount is None  # partial for TAN: the airline's amount applies
    assert "RF00000007" in d.message


def test_a_flown_first_segment_still_quotes_the_rest_exactly():
    d = decide_one("AT10000001,,", booking(departures=(-1, 5)))
    assert d.outcome is BatchOutcome.CREATED and {s for _, s in d.plan.coupons} == {21}
    assert d.plan.estimated_amount == Decimal("660.00")


def test_an_order_listed_twice_is_created_once():
    facts = {"AT10000001": booking()}
    decisions = decide(rows_of("AT10000001,,", "at10000001,,"), facts, account_id=1, now=NOW)
    assert [d.outcome for d in decisions] == [BatchOutcome.CREATED, BatchOutcome.ALREADY_REFUNDING]
    assert "row 2" in decisions[1].message


def test_outcome_counts_cover_every_outcome():
    facts = {"AT10000001": booking(), "VC10000001": booking("VC10000001", channel="vcc")}
    decisions = decide(
        rows_of("AT10000001,,", "AT10000001,,", "VC10000001,,", "ZZ99999999,,", "bad!,,"),
        facts,
        account_id=1,
        now=NOW,
    )
    counts = outcome_counts(decisions)
    assert counts[BatchOutcome.CREATED] == counts[BatchOutcome.ALREADY_REFUNDING] == 1
    assert counts[BatchOutcome.VCC_NOT_ALLOWED] == counts[BatchOutcome.UNKNOWN_ORDER] == 1
    assert counts[BatchOutcome.MALFORMED] == 1 and counts[BatchOutcome.NOTHING_REFUNDABLE] == 0


# --- Issue 12: a small workbook that unpacks to a million rows must not stall a worker -----------------


def _workbook(sheet_rows: bytes, shared: bytes | None = None) -> bytes:
    """A minimal .xlsx with the given <sheetData> content, zipped as Excel would (deflate)."""
    import zipfile as zf

    parts = {
        "[Content_Types].xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            b'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            b'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName='
            b'"/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
            b'sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
            b'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/'
            b'relationships"><sheets><sheet name="Refunds" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            b'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
            b'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><sheetData>' + sheet_rows + b"</sheetData></worksheet>"
        ),
    }
    if shared is not None:
        parts["xl/sharedStrings.xml"] = shared
    buffer = io.BytesIO()
    with zf.ZipFile(buffer, "w", zf.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


HEADER_ROW = b'<row><c t="inlineStr"><is><t>Order number</t></is></c></row>'


def test_the_exact_million_comment_row_workbook_is_refused_before_parsing():
    # The attack of issue 12: a header and 1,100,000 rows of '#', about 150 KB zipped, 52 MB unpacked.
    data = _workbook(HEADER_ROW + b'<row><c t="inlineStr"><is><t>#</t></is></c></row>' * 1_100_000)
    assert len(data) < batch.MAX_BYTES
    with pytest.raises(batch.FileRefused, match="more than 21,000 rows"):
        batch.read_upload("refunds.xlsx", data)


def test_a_sheet_of_one_row_with_a_million_cells_is_refused():
    data = _workbook(HEADER_ROW + b"<row>" + b'<c t="inlineStr"><is><t>x</t></is></c>' * 400_000 + b"</row>")
    with pytest.raises(batch.FileRefused, match="cells"):
        batch.read_upload("refunds.xlsx", data)


def test_a_huge_shared_string_table_is_refused():
    shared = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        + b"<si><t>x</t></si>" * 400_000
    )
    with pytest.raises(batch.FileRefused, match="texts"):
        batch.read_upload("refunds.xlsx", _workbook(HEADER_ROW, shared + b"</sst>"))


def test_a_csv_of_comment_lines_stops_at_the_line_bound():
    data = b"Order number\n" + b"#\n" * 2_000_000
    assert len(data) < batch.MAX_BYTES
    with pytest.raises(batch.FileRefused, match="lines"):
        batch.read_upload("refunds.csv", data)


def test_a_full_template_of_ten_thousand_rows_with_comments_still_reads():
    order = b'<row><c t="inlineStr"><is><t>AT%08d</t></is></c></row>'
    comment = b'<row><c t="inlineStr"><is><t>#</t></is></c></row>'
    rows = b"".join(order % n + comment for n in range(batch.MAX_ROWS))
    upload = batch.read_upload("refunds.xlsx", _workbook(HEADER_ROW + rows))
    assert len(upload.rows) == batch.MAX_ROWS
