"""Statements by e-mail (issue 15, item 7): the job queues the period's statement for each account's
recipients, the outbox sends it to a real SMTP server (aiosmtpd) — once, also when two runners race."""

import io
import threading

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal import jobs
from portal.extensions import db as _db
from portal.models import OutboxEmail, StatementMailing
from portal.services.finance import post_adjustment
from tests.conftest import credit_refund, make_refund, utc

RECIPIENTS = ["finance@demo.example", "owner@demo.example"]
# 1 July 2026, 10:00 in Singapore: June has ended, so a monthly statement is due for June.
JULY_1 = utc(2026, 7, 1, 2, 0)


@pytest.fixture
def mail(app, smtp_server, monkeypatch):
    """The test app's outbox sends through the real SMTP server of `smtp_server` (plain SMTP)."""
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    monkeypatch.setitem(app.config, "SMTP_STARTTLS", False)
    return smtp_server


@pytest.fixture
def june(clock, world, db):
    """DEMO e-mails its statement monthly; it has entries in May (the opening), June and July."""
    post_adjustment(
        world.demo, amount="100.00", reason="May opening credit", user=world.admin, now=utc(2026, 5, 20, 2)
    )
    refund = make_refund(db, world.booking, world.agent, coupons=("P1.S1",))
    credit_refund(db, refund, world.ops, amount="300.00", now=utc(2026, 6, 15, 3))
    post_adjustment(
        world.demo, amount="-40.00", reason="June fee correction", user=world.admin, now=utc(2026, 6, 20, 2)
    )
    post_adjustment(
        world.demo, amount="7.00", reason="July goodwill", user=world.admin, now=utc(2026, 7, 1, 1)
    )
    world.demo.statement_emails = "\n".join(RECIPIENTS)
    world.demo.statement_schedule = "monthly"
    world.other.statement_emails = "books@other.example"  # no schedule: never e-mailed
    db.session.commit()
    return refund


def _attachment(message):
    [part] = list(message.iter_attachments())
    return part.get_filename(), load_workbook(io.BytesIO(part.get_content()), read_only=True)


def _cells(workbook) -> list:
    return [
        cell for row in workbook["Statement"].iter_rows(values_only=True) for cell in row if cell is not None
    ]


def test_the_months_statement_arrives_once_with_its_workbook_and_summary(app, db, world, june, mail):
    assert jobs.run_job("email-statements", JULY_1) == {"accounts": 1, "emails": 2}
    assert jobs.send_outbox(JULY_1)["sent"] == 2
    # The next runs (every minute) send nothing more for June.
    assert jobs.run_job("email-statements", JULY_1) == {"accounts": 0, "emails": 0}
    assert jobs.send_outbox(JULY_1)["sent"] == 0

    assert sorted(m["To"] for m in mail.messages) == RECIPIENTS
    message = mail.messages[0]
    assert "Statement DEMO, 01 Jun 2026 to 30 Jun 2026" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert "Opening balance: SGD 100.00" in body
    assert "Credits:         SGD 285.00" in body  # the refund credit, less the 15.00 service fee
    assert "Closing balance: SGD 345.00" in body
    assert "Entries:         2" in body
    name, workbook = _attachment(message)
    assert name == "statement-DEMO-20260601-20260630.xlsx"
    cells = _cells(workbook)
    assert june.code in cells and "June fee correction" in cells
    assert "July goodwill" not in cells and "May opening credit" not in cells  # outside the period


def test_two_job_runners_racing_send_the_statement_once(app, db, world, june, mail):
    start = threading.Barrier(2)
    results, errors = [], []

    def run():
        with app.app_context():
            try:
                start.wait(timeout=10)
                results.append(jobs.run_job("email-statements", JULY_1))
                jobs.send_outbox(JULY_1)
            except Exception as exc:  # noqa: BLE001 — reported by the assertion below
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(r["emails"] for r in results) == [0, 2]
    assert sorted(m["To"] for m in mail.messages) == RECIPIENTS  # each recipient once
    assert db.session.scalar(select(func.count()).select_from(StatementMailing)) == 1


def test_a_weekly_statement_goes_after_each_week_ends(app, db, world, june, mail):
    world.demo.statement_schedule = "weekly"
    db.session.commit()
    # Wednesday 24 June: the week of Monday 15 to Sunday 21 June, with the refund credit and the correction.
    jobs.run_job("email-statements", utc(2026, 6, 24, 2))
    jobs.run_job("email-statements", utc(2026, 6, 28, 2))  # Sunday: that week is not over yet
    jobs.run_job("email-statements", utc(2026, 6, 29, 2))  # Monday: the week of 22 to 28 June
    jobs.send_outbox(utc(2026, 6, 29, 2))
    subjects = sorted({m["Subject"].split("] ")[-1] for m in mail.messages})
    assert subjects == [
        "Statement DEMO, 15 Jun 2026 to 21 Jun 2026",
        "Statement DEMO, 22 Jun 2026 to 28 Jun 2026",
    ]
    assert len(mail.messages) == 4


def test_nothing_is_sent_without_a_schedule_an_address_smtp_or_an_active_account(
    app, db, world, june, mail, monkeypatch
):
    world.demo.active = False
    db.session.commit()
    assert jobs.run_job("email-statements", JULY_1) == {"accounts": 0, "emails": 0}
    world.demo.active = True
    db.session.commit()
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    assert jobs.run_job("email-statements", JULY_1) == {"accounts": 0, "emails": 0}
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    assert db.session.scalar(select(func.count()).select_from(StatementMailing)) == 0
