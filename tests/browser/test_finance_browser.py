"""Finance journeys in a real browser, by the labels a user sees: batch refunds and the statement."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.domain.refunds import RefundPath
from portal.models import Refund
from portal.services.refunds import create_refund, parse_coupon_keys
from tests.conftest import credit_refund, passenger_doc

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

AGENT = "agent@demo.example"


def test_agent_downloads_the_template_fills_it_and_initiates_refunds(page, world, make, login, tmp_path):
    make.booking(
        order_number="VC00000001", payment_channel="vcc", passengers=[passenger_doc(ticket="618-2400000701")]
    )
    login(page, AGENT)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Refunds").click()
    expect(page.get_by_role("heading", name="Refunds", level=1)).to_be_visible()
    page.get_by_role("tab", name="Agent & Passenger Initiated").click()
    expect(page).to_have_url(re.compile(r"/finance/refunds/agent$"))

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download File Template", exact=True).click()
    template = tmp_path / "refund-template.csv"
    download_info.value.save_as(template)
    text = template.read_text(encoding="utf-8-sig")
    assert "Order number,Passengers (optional),Note (optional)" in text

    # Filled in the way an agent would: the example left in, a good order, a VCC order, an unknown
    # order and the good order again.
    template.write_text(
        text
        + "AT10000001,,Passenger refunded by the airline\r\nVC00000001,,\r\nNOPE000001,,\r\nAT10000001,,\r\n",
        encoding="utf-8",
    )
    page.get_by_label("Filled template (CSV or XLSX, up to 5 MB)").set_input_files(str(template))
    page.get_by_role("button", name="Initiate a Refund").click()

    expect(page.get_by_role("heading", name=re.compile(r"^Batch B\d+"))).to_be_visible()
    expect(page.get_by_text("1 refund created from 4 rows")).to_be_visible()
    rows = page.locator("table.batch-rows tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Created")
    expect(rows.nth(1)).to_contain_text("VCC not allowed")
    expect(rows.nth(2)).to_contain_text("Unknown order")
    expect(rows.nth(3)).to_contain_text("Already refunding")
    code = rows.nth(0).get_by_role("link").inner_text()
    assert re.fullmatch(r"RF\d{8}", code)

    page.get_by_role("link", name="Back to Agent & Passenger Initiated refunds").click()
    listed = page.locator("#results table tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text(code)
    expect(listed.first).to_contain_text("AT10000001")
    expect(listed.first).to_contain_text("Submitted to airline")
    expect(listed.first).to_contain_text("Available from")

    # The same file again creates nothing new.
    page.get_by_label("Filled template (CSV or XLSX, up to 5 MB)").set_input_files(str(template))
    page.get_by_role("button", name="Initiate a Refund").click()
    expect(page.get_by_text("0 refunds created from 4 rows")).to_be_visible()
    expect(page.locator("table.batch-rows tbody tr").nth(0)).to_contain_text("Already refunding")


def test_a_file_that_cannot_be_read_is_refused_with_a_message(page, world, login, tmp_path):
    login(page, AGENT)
    page.goto("/finance/refunds/agent")
    bad = tmp_path / "refunds.pdf"
    bad.write_bytes(b"%PDF-1.4 not a template")
    page.get_by_label("Filled template (CSV or XLSX, up to 5 MB)").set_input_files(str(bad))
    page.get_by_role("button", name="Initiate a Refund").click()
    expect(page.get_by_role("alert")).to_contain_text("Upload the template as a .csv or .xlsx file")


def test_agent_opens_the_statement_after_a_refund_is_credited(page, world, db, login):
    refund = create_refund(
        world.booking,
        parse_coupon_keys(world.booking, ["P1.S1", "P1.S2"]),
        path=RefundPath.INSTANT_QUOTE,
        user=world.agent,
    )
    db.session.commit()
    credit_refund(db, refund, world.ops, amount="300.00")
    code = db.session.scalar(select(Refund.code))
    login(page, AGENT)
    expect(page.get_by_role("link", name=re.compile(r"Balance: SGD 285\.00"))).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Statement").click()
    expect(page.get_by_role("heading", name="Statement", level=1)).to_be_visible()
    table = page.locator("table.statement")
    expect(table).to_contain_text("Opening balance")
    expect(table).to_contain_text("Refund credit")
    expect(table).to_contain_text(code)
    expect(table).to_contain_text("AT10000001")
    expect(table.locator("tr", has_text="Closing balance")).to_contain_text("285.00")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download XLSX").click()
    assert download_info.value.suggested_filename.endswith(".xlsx")
