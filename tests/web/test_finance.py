"""Finance over HTTP: Refunds tabs, filters, export, batch upload and refusals, statement, adjustments."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.clock import utcnow
from portal.domain.refunds import RefundPath
from portal.models import LedgerEntry, Refund, RefundBatch
from portal.services.finance import post_adjustment
from portal.services.refunds import create_refund, parse_coupon_keys
from tests.conftest import batch_csv, credit_refund, make_refund_batch, passenger_doc


def body(response) -> str:
    """The page without its placeholders: the search box's example code (RF00000042) is a real refund's
    code once a PostgreSQL run, whose ids are not reset between tests, has made 42 refunds."""
    return re.sub(r' placeholder="[^"]*"', "", response.get_data(as_text=True))


def upload(client, data: bytes, filename="refunds.csv"):
    # The body is built here, in memory: the test client would spool a large one to a temporary file
    # it never closes (a ResourceWarning, which is an error in this suite).
    boundary = "----financetestboundary"
    payload = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        "/finance/refunds/batches", data=payload, content_type=f"multipart/form-data; boundary={boundary}"
    )


def exported_rows(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    return list(csv.reader(io.StringIO(body(response).lstrip("\ufeff"))))


@pytest.fixture
def refunds(db, world, make):
    """An operator refund (instant quote) and a batch refund in DEMO; a batch refund in OTHER."""
    make.booking(
        order_number="AT10000002", passengers=[passenger_doc("P1", "GOH", "SIEW LAN", "618-2400000002")]
    )
    operator = make.refund(world.booking, world.agent)
    make_refund_batch(db, world.agent, "AT10000002")
    make_refund_batch(db, world.other_agent, "OT20000001")
    by_order = {r.booking.order_number: r for r in db.session.scalars(select(Refund))}
    return operator, by_order["AT10000002"], by_order["OT20000001"]


# --- Refunds list -------------------------------------------------------------------------------------


def test_tabs_split_operator_and_agent_refunds(client, auth, world, refunds):
    operator, batch_refund, other = refunds
    auth.login(world.agent)
    everything = body(client.get("/finance/refunds"))
    assert "Atlas Initiated" in everything and "Agent &amp; Passenger Initiated" in everything
    assert operator.code in everything and batch_refund.code in everything
    assert other.code not in everything and "OT20000001" not in everything
    assert "TAN/WEI MING" in everything and "Submitted to airline" in everything
    operator_tab = body(client.get("/finance/refunds/operator"))
    assert operator.code in operator_tab and batch_refund.code not in operator_tab
    agent_tab = body(client.get("/finance/refunds/agent"))
    assert batch_refund.code in agent_tab and operator.code not in agent_tab
    assert "Download File Template" in agent_tab and "Initiate a Refund" in agent_tab
    assert client.get("/finance/refunds/nope").status_code == 404


def test_tab_links_and_filters_are_htmx_partials(client, auth, world, refunds):
    auth.login(world.agent)
    panel = client.get("/finance/refunds/agent", headers={"HX-Request": "true"})
    assert "<header" not in body(panel) and 'role="tablist"' in body(panel)
    assert "HX-Request" in panel.headers["Vary"]
    results = client.get("/finance/refunds", headers={"HX-Request": "true", "HX-Target": "results"})
    assert "<header" not in body(results) and 'role="tablist"' not in body(results)
    assert refunds[0].code in body(results)


def test_staff_see_every_account_and_can_filter_by_account(client, auth, world, refunds):
    auth.login(world.ops)
    page = body(client.get("/finance/refunds"))
    assert all(r.code in page for r in refunds)
    mine = body(client.get("/finance/refunds", query_string={"account": world.other.id}))
    assert refunds[2].code in mine and refunds[0].code not in mine


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"q": "AT10000002"}, [1]),
        ({"q": "at1000000"}, [0, 1]),
        ({"q": "goh siew"}, [1]),
        ({"q": "TAN"}, [0]),
        ({"q": "2400000002"}, [1]),
        ({"status": "requested"}, [0]),
        ({"status": "submitted"}, [1]),
        ({"status": "refunded"}, []),
    ],
)
def test_search_and_filters(client, auth, world, refunds, query, expected):
    auth.login(world.agent)
    page = body(client.get("/finance/refunds", query_string=query))
    for index, refund in enumerate(refunds[:2]):
        assert (refund.code in page) == (index in expected), (query, refund.code)


def test_search_by_refund_code(client, auth, world, refunds):
    auth.login(world.agent)
    page = body(client.get("/finance/refunds", query_string={"q": refunds[1].code.lower()}))
    assert refunds[1].code in page and refunds[0].code not in page
    other = body(client.get("/finance/refunds", query_string={"q": refunds[2].code}))
    assert "No refunds match" in other  # another account's refund code finds nothing


def test_submitted_date_range_in_the_portal_zone(client, auth, world, db):
    # 2 Jan 2026 17:30 UTC is 3 Jan 01:30 in Singapore.
    old = create_refund(
        world.booking,
        parse_coupon_keys(world.booking, ["P1.S1"]),
        path=RefundPath.AGENT_REQUEST,
        user=world.agent,
        now=datetime(2026, 1, 2, 17, 30, tzinfo=UTC),
    )
    db.session.commit()
    auth.login(world.agent)
    hit = body(
        client.get(
            "/finance/refunds", query_string={"submitted_from": "2026-01-03", "submitted_to": "2026-01-03"}
        )
    )
    miss = body(
        client.get(
            "/finance/refunds", query_string={"submitted_from": "2026-01-01", "submitted_to": "2026-01-02"}
        )
    )
    assert old.code in hit and old.code not in miss
    wrong = body(
        client.get(
            "/finance/refunds", query_string={"submitted_from": "2026-01-05", "submitted_to": "2026-01-01"}
        )
    )
    assert "The end date is before the start date." in wrong


def test_follow_up_state(client, auth, world, db, make):
    now = utcnow()
    recent = make.refund(
        world.booking, world.agent, path="agent_request", coupons=["P1.S1"], now=now - timedelta(days=2)
    )
    booking = make.booking(order_number="AT10000009", passengers=[passenger_doc(ticket="618-2400000009")])
    old = make.refund(
        booking, world.agent, path="agent_request", coupons=["P1.S2"], now=now - timedelta(days=22)
    )
    auth.login(world.agent)
    page = body(client.get("/finance/refunds"))
    from zoneinfo import ZoneInfo

    available = (recent.created_at + timedelta(days=21)).astimezone(ZoneInfo("Asia/Singapore"))
    assert f"Available from {available:%d %b %Y}" in page
    assert "Follow-up available" in page and old.code in page
    # The Follow up button: disabled for the recent refund, enabled for the 22-day-old one.
    assert f'disabled aria-describedby="fu-{recent.code}">Follow up</button>' in page
    assert f'action="/refunds/{old.code}/follow-up"' in page


def test_list_query_count_does_not_grow(client, auth, world, make, db, count_queries):
    make_refund_batch(db, world.agent, "AT10000001")
    auth.login(world.agent)
    client.get("/finance/refunds")
    with count_queries() as one:
        client.get("/finance/refunds")
    for n in range(15):
        make.booking(
            order_number=f"QC{n:08d}",
            passengers=[
                passenger_doc(f"P{i}", "MANY", f"PAX {chr(65 + i)}", f"618-26{n:04d}{i:04d}")
                for i in range(3)
            ],
        )
    make_refund_batch(db, world.agent, *(f"QC{n:08d}" for n in range(15)))
    with count_queries() as many:
        response = client.get("/finance/refunds")
    with count_queries() as searched:
        client.get("/finance/refunds", query_string={"q": "MANY", "status": "submitted"})
    with count_queries() as agent_tab:
        client.get("/finance/refunds/agent")
    assert "MANY/PAX C" in body(response)
    assert one.count == many.count == searched.count == agent_tab.count - 2, many.statements  # + batches
    assert many.count <= 11


def test_export_is_scoped_and_filtered(client, auth, world, refunds):
    operator, batch_refund, other = refunds
    auth.login(world.agent)
    rows = exported_rows(client.get("/finance/refunds/all/export.csv"))
    assert rows[0][:3] == ["Refund code", "Order number", "Account"]
    codes = {row[0] for row in rows[1:]}
    assert codes == {operator.code, batch_refund.code}
    assert all(row[2] == "DEMO" for row in rows[1:]) and "OT20000001" not in body(
        client.get("/finance/refunds/all/export.csv")
    )
    agent_only = exported_rows(client.get("/finance/refunds/agent/export.csv", query_string={"q": "GOH"}))
    assert [row[0] for row in agent_only[1:]] == [batch_refund.code]
    by_code = {row[0]: row for row in rows}
    assert by_code[operator.code][8] == "315.00" and by_code[operator.code][3] == "Atlas Initiated"
    client.post("/logout")
    auth.login(world.ops)
    everything = exported_rows(client.get("/finance/refunds/all/export.csv"))
    assert {row[0] for row in everything[1:]} == {r.code for r in refunds}


# --- Batch upload ------------------------------------------------------------------------------------------


def test_templates_download_as_csv_and_xlsx(client, auth, world):
    auth.login(world.agent)
    csv_response = client.get("/finance/refunds/template.csv")
    assert (
        csv_response.mimetype == "text/csv"
        and "Order number,Passengers (optional),Note (optional)" in body(csv_response)
    )
    xlsx = client.get("/finance/refunds/template.xlsx")
    assert "spreadsheetml" in xlsx.mimetype
    wb = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    assert next(wb["Refunds"].iter_rows(values_only=True))[0] == "Order number"
    wb.close()


def test_upload_shows_every_rows_outcome_and_the_refunds_appear(client, auth, world, make, db):
    make.booking(
        order_number="VC00000001", payment_channel="vcc", passengers=[passenger_doc(ticket="618-2400000701")]
    )
    auth.login(world.agent)
    data = batch_csv(
        "AT10000001",
        "VC00000001",
        "NOPE000001",
        "OT20000001",
        "AT10000001",
        ("", "x"),
        ("AT10000001", "NOBODY"),
    )
    response = upload(client, data)
    assert response.status_code == 303
    page = body(client.get(response.headers["Location"]))
    for label in ("Created", "VCC not allowed", "Unknown order", "Already refunding", "Malformed"):
        assert label in page
    assert "OT20000001" in page  # the agent's own file, echoed back, reported as unknown
    assert "LIM" not in page  # nothing about the other account's booking
    refund = db.session.scalar(select(Refund))
    assert refund.code in page and refund.path == "agent_batch"
    assert refund.code in body(client.get("/finance/refunds/agent"))
    outcomes = exported_rows(client.get(response.headers["Location"] + "/outcomes.csv"))
    assert [row[4] for row in outcomes[1:]] == [
        "Created",
        "VCC not allowed",
        "Unknown order",
        "Unknown order",
        "Already refunding",
        "Malformed",
        "Malformed",  # no passenger NOBODY on the order
    ]

    again = upload(client, data)
    assert again.status_code == 303
    assert "uploaded before" in body(client.get(again.headers["Location"]))
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 1


def test_xlsx_upload_with_numeric_order_numbers(client, auth, world, make, db):
    from openpyxl import Workbook

    make.booking(order_number="10000001", passengers=[passenger_doc(ticket="618-2400000801")])
    wb = Workbook()
    wb.active.append(["Order number", "Passengers (optional)", "Note (optional)"])
    wb.active.append([10000001, None, "typed as a number"])
    buffer = io.BytesIO()
    wb.save(buffer)
    auth.login(world.agent)
    response = upload(client, buffer.getvalue(), "filled.xlsx")
    assert response.status_code == 303
    assert "Created" in body(client.get(response.headers["Location"]))
    assert db.session.scalar(select(Refund.note)) == "typed as a number"


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("refunds.pdf", b"%PDF-1.4", "Upload the template as a .csv or .xlsx file"),
        ("refunds.csv", "Order number\nAT10000001,Müller\n".encode("latin-1"), "not UTF-8"),
        ("refunds.xlsx", b"PK\x03\x04broken", "damaged"),
        ("refunds.csv", b"Order number\n" + b"AT10000001\n" * 10_001, "more than 10,000"),
        ("refunds.csv", b"Order number\n" + b"AT10000001," + b"x" * (5 * 1024 * 1024), "larger than 5 MB"),
    ],
    ids=["wrong-type", "not-utf8", "broken-xlsx", "too-many-rows", "too-big"],
)
def test_unreadable_files_are_refused_whole(client, auth, world, db, filename, data, message):
    auth.login(world.agent)
    response = upload(client, data, filename)
    assert response.status_code == 422
    page = body(response)
    assert message in page and "The file was not processed" in page and "Initiate a Refund" in page
    assert db.session.scalar(select(func.count()).select_from(RefundBatch)) == 0
    assert db.session.scalar(select(func.count()).select_from(Refund)) == 0


def test_upload_without_a_file(client, auth, world):
    auth.login(world.agent)
    response = client.post("/finance/refunds/batches", data={}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choose the filled template" in body(response)


def test_staff_do_not_upload_batches(client, auth, world):
    auth.login(world.ops)
    assert upload(client, batch_csv("AT10000001")).status_code == 403


# --- Statement and adjustments ----------------------------------------------------------------------------


@pytest.fixture
def credited(db, world):
    refund = create_refund(
        world.booking,
        parse_coupon_keys(world.booking, ["P1.S1", "P1.S2"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    credit_refund(db, refund, world.ops, amount="300.00")
    post_adjustment(world.other, amount="77.00", reason="Other account", user=world.admin)
    db.session.commit()
    return refund


def test_statement_shows_opening_credits_and_closing(client, auth, world, credited):
    auth.login(world.agent)
    page = body(client.get("/finance/statement"))
    assert "Opening balance" in page and "Closing balance" in page
    assert credited.code in page and "AT10000001" in page and "285.00" in page
    assert "Other account" not in page and "77.00" not in page
    assert "Post an adjustment" not in page
    assert 'href="/finance/statement"' in page  # the header balance links here


def test_statement_exports_are_scoped_and_neutralised(client, auth, world, credited, db):
    post_adjustment(world.demo, amount="-5.00", reason='=HYPERLINK("http://evil")', user=world.admin)
    db.session.commit()
    auth.login(world.agent)
    rows = exported_rows(client.get("/finance/statement.csv"))
    flat = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://evil")' in flat and '=HYPERLINK("http://evil")' not in flat
    assert "-5.00" in flat and "280.00" in flat  # numbers stay numbers: no apostrophe
    assert "Other account" not in flat
    xlsx = client.get("/finance/statement.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    values = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any(c.value == '\'=HYPERLINK("http://evil")' and c.data_type == "s" for c in values)
    assert not any(c.data_type == "f" for c in values)
    assert any(c.data_type == "n" and float(c.value) == -5.0 for c in values)


def test_admin_posts_adjustments_and_bad_ones_are_explained(client, auth, world, db):
    auth.login(world.admin)
    url = f"/finance/statement/adjustments?account={world.demo.id}"
    bad = client.post(url, data={"amount": "12.345", "reason": "Typo"})
    assert bad.status_code == 422 and "at most two decimals" in body(bad)
    assert client.post(url, data={"amount": "10", "reason": ""}).status_code == 422
    good = client.post(url, data={"amount": "-12.50", "reason": "Bank charge"})
    assert good.status_code == 303
    page = body(client.get(good.headers["Location"]))
    assert "Bank charge" in page and "-12.50" in page and "Adjustment of SGD -12.50 posted" in page
    [entry] = db.session.scalars(select(LedgerEntry)).all()
    assert entry.kind == "adjustment" and entry.created_by_id == world.admin.id
    assert (
        client.post(
            "/finance/statement/adjustments?account=999999", data={"amount": "1", "reason": "x"}
        ).status_code
        == 404
    )


def test_staff_choose_the_account_for_a_statement(client, auth, world, credited):
    auth.login(world.ops)
    assert "Choose an account" in body(client.get("/finance/statement"))
    page = body(client.get("/finance/statement", query_string={"account": world.other.id}))
    assert "Other account" in page and credited.code not in page
    assert client.get("/finance/statement", query_string={"account": 999999}).status_code == 404
    assert client.get("/finance/statement.csv").status_code == 404  # no account chosen
