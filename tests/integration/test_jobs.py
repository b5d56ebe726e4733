"""The deadline jobs with an injected clock: exact boundaries, once-only flags, concurrent runs, outbox."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal import jobs
from portal.clock import frozen, utcnow
from portal.domain.refunds import RefundPath
from portal.extensions import db as _db
from portal.models import Notification, OutboxEmail, Refund
from portal.services.notifications import notify
from tests.conftest import Factory


def make_refund(world, db, keys=("P1.S1", "P1.S2"), path=RefundPath.INSTANT_QUOTE, booking=None):
    return Factory(db).refund(booking or world.booking, world.agent, coupons=keys, path=path)


def notifications(db, kind):
    return db.session.scalars(select(Notification).where(Notification.kind == kind)).all()


def test_overdue_flags_at_exactly_four_hours_and_only_once(app, db, world):
    refund = make_refund(world, db)
    received = refund.created_at
    with app.test_request_context():
        assert jobs.run_job("overdue-refunds", received + timedelta(hours=3, minutes=59, seconds=59)) == []
        flagged = jobs.run_job("overdue-refunds", received + timedelta(hours=4))
        assert [r.id for r in flagged] == [refund.id]
        assert jobs.run_job("overdue-refunds", received + timedelta(hours=9)) == []
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).overdue_at == received + timedelta(hours=4)
    [note] = notifications(db, "refund_overdue")
    assert note.user_id == world.ops.id and refund.code in note.text


def test_overdue_ignores_submitted_and_agent_refunds(app, db, world, make):
    operator = make_refund(world, db, keys=("P1.S1",))
    claim_booking = make.booking(order_number="CL00000001")
    claim = make_refund(world, db, booking=claim_booking, path=RefundPath.AGENT_REQUEST)
    operator.status = "submitted"
    db.session.commit()
    later = utcnow() + timedelta(hours=5)
    assert jobs.run_job("overdue-refunds", later) == []
    assert claim.status == "submitted"


def test_follow_up_eligible_from_day_21_notifies_the_agents_once(app, db, world):
    refund = make_refund(world, db)
    submitted = refund.created_at
    assert jobs.run_job("follow-up-eligible", submitted + timedelta(days=20, hours=23, minutes=59)) == []
    assert [r.id for r in jobs.run_job("follow-up-eligible", submitted + timedelta(days=21))] == [refund.id]
    assert jobs.run_job("follow-up-eligible", submitted + timedelta(days=40)) == []
    # Once to each of the agency's people: its agent and its agency admin (never the other account's).
    notes = notifications(db, "follow_up_eligible")
    assert sorted(n.user_id for n in notes) == sorted([world.agent.id, world.agency_admin.id])
    assert all("can now be followed up" in n.text for n in notes)


def test_final_refunds_are_never_follow_up_eligible(app, db, world):
    refund = make_refund(world, db)
    refund.status = "rejected"
    db.session.commit()
    assert jobs.run_job("follow-up-eligible", refund.created_at + timedelta(days=30)) == []


def test_two_processes_running_a_job_flag_and_notify_each_row_once(app, db, world, make):
    refunds = [make_refund(world, db)]
    for n in range(4):
        booking = make.booking(order_number=f"CC0000000{n}", passengers=None)
        refunds.append(make_refund(world, db, booking=booking))
    later = utcnow() + timedelta(hours=5)
    start = threading.Barrier(2)
    results: list[list[int]] = []

    def run():
        with app.app_context():
            start.wait(timeout=10)
            flagged = jobs.run_job("overdue-refunds", later)
            results.append([r.id for r in flagged])
            _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    flagged = sorted(results[0] + results[1])
    assert flagged == sorted(r.id for r in refunds)  # every row once, none twice
    assert len(notifications(db, "refund_overdue")) == len(refunds)


# --- Outbox --------------------------------------------------------------------------------------


@pytest.fixture
def smtp(app, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_HOST", "smtp.example.invalid")


def test_without_smtp_nothing_is_queued_and_nothing_breaks(app, db, world):
    notify([world.agent], "test", "Hello")
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    assert jobs.send_outbox()["skipped"] == "SMTP not configured"


def test_outbox_sends_once(app, db, world, smtp):
    notify([world.agent, world.ops], "test", "Refund RF1 moved")
    db.session.commit()
    sent = []
    assert jobs.send_outbox(sender=sent.append) == {"sent": 2, "failed": 0}
    assert jobs.send_outbox(sender=sent.append) == {"sent": 0, "failed": 0}
    assert sorted(m["To"] for m in sent) == sorted([world.agent.email, world.ops.email])


def test_outbox_retries_failures_with_backoff(app, db, world, smtp):
    notify([world.agent], "test", "Hello")
    db.session.commit()
    now = utcnow()

    def broken(message):
        raise ConnectionRefusedError("mail server down")

    assert jobs.send_outbox(now, sender=broken) == {"sent": 0, "failed": 1}
    email = db.session.scalar(select(OutboxEmail))
    db.session.refresh(email)
    assert email.attempts == 1 and "mail server down" in email.last_error
    sent = []
    assert jobs.send_outbox(now + timedelta(seconds=30), sender=sent.append)["sent"] == 0  # not yet due
    assert jobs.send_outbox(now + timedelta(minutes=2), sender=sent.append)["sent"] == 1
    assert len(sent) == 1


def test_outbox_gives_up_after_max_attempts(app, db, world, smtp):
    notify([world.agent], "test", "Hello")
    db.session.commit()
    now = utcnow()

    def broken(message):
        raise OSError("nope")

    for attempt in range(jobs.MAX_ATTEMPTS):
        jobs.send_outbox(now + timedelta(hours=2 * attempt), sender=broken)
    email = db.session.scalar(select(OutboxEmail))
    db.session.refresh(email)
    assert email.gave_up_at is not None and email.sent_at is None


def test_two_senders_never_send_the_same_email_twice(app, db, world, smtp):
    for n in range(6):
        notify([world.agent], "test", f"Message {n}")
    db.session.commit()
    sent = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def sender(message):
        with lock:
            sent.append(message["Subject"])

    def run():
        with app.app_context():
            start.wait(timeout=10)
            jobs.send_outbox(sender=sender)
            _db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(sent) == 6 and len(set(sent)) == 6


def test_run_jobs_command_prints_what_changed(app, db, world, runner):
    refund = make_refund(world, db)
    with frozen(refund.created_at + timedelta(hours=5)):
        result = runner.invoke(args=["run-jobs"])
    assert result.exit_code == 0, result.output
    assert f"overdue-refunds: 1 flagged ({refund.code})" in result.output
    assert "follow-up-eligible: 0 flagged" in result.output
