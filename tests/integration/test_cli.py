"""The command-line contract of SPEC section 7."""

from pathlib import Path

from sqlalchemy import func, select

from portal.models import Account, Booking, Passenger, Segment, User

EXAMPLE = Path(__file__).resolve().parents[2] / "portal" / "demo_bookings.example.json"


def test_create_account_and_user(runner, db, monkeypatch):
    result = runner.invoke(args=["create-account", "acme", "--name", "Acme Tours", "--currency", "sgd"])
    assert result.exit_code == 0, result.output
    assert "Account ACME created" in result.output
    monkeypatch.setenv("PORTAL_NEW_PASSWORD", "a long password")
    result = runner.invoke(
        args=["create-user", "a@acme.example", "--name", "A", "--role", "agent", "--account", "ACME"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "a@acme.example"))
    assert user.account.code == "ACME"
    again = runner.invoke(args=["create-account", "ACME", "--name", "x", "--currency", "SGD"])
    assert again.exit_code != 0 and "already exists" in again.output
    bad = runner.invoke(
        args=["create-user", "b@acme.example", "--name", "B", "--role", "agent", "--account", "NOPE"]
    )
    assert bad.exit_code != 0 and "No client account with code NOPE" in bad.output


def test_create_user_sets_a_permanent_password_that_meets_the_rule(runner, db, monkeypatch):
    """PORTAL_NEW_PASSWORD is the operator's provisioning path: no change forced at first login; the
    password rule still applies, with a clear error rather than a traceback."""
    monkeypatch.setenv("PORTAL_NEW_PASSWORD", "a long password")
    result = runner.invoke(args=["create-user", "boss@host.example", "--name", "Boss", "--role", "admin"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "boss@host.example"))
    assert user.must_change_password is False
    for weak, message in (("qwertyuiop", "common passwords"), ("ops@host.example", "e-mail address")):
        monkeypatch.setenv("PORTAL_NEW_PASSWORD", weak)
        refused = runner.invoke(
            args=["create-user", "ops@host.example", "--name", "Ops", "--role", "operations"]
        )
        assert refused.exit_code == 1 and message in refused.output, refused.output
        assert "Traceback" not in refused.output


def test_create_user_prompts_for_the_password(runner, db, monkeypatch):
    monkeypatch.delenv("PORTAL_NEW_PASSWORD", raising=False)
    result = runner.invoke(
        args=["create-user", "ops@host.example", "--name", "Ops", "--role", "operations"],
        input="a long password\na long password\n",
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User.role).where(User.email == "ops@host.example")) == "operations"


def test_import_bookings_reports_errors_and_imports_nothing(runner, db, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(EXAMPLE.read_text().replace('"pnr": "K3X9QZ"', '"pnr": "k3"'))
    result = runner.invoke(args=["import-bookings", str(bad)])
    assert result.exit_code != 0
    assert "bookings[0] (AT26110001): account: no client account with code DEMO" in result.output
    assert "bookings[0] (AT26110001): pnr:" in result.output
    assert "nothing was imported" in result.output
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 0


def test_import_the_example(runner, db):
    runner.invoke(args=["create-account", "DEMO", "--name", "Demo", "--currency", "SGD"])
    result = runner.invoke(args=["import-bookings", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "2 booking(s) created" in result.output
    again = runner.invoke(args=["import-bookings", str(EXAMPLE)])
    assert "0 booking(s) created, 2 updated, 0 schedule change(s)" in again.output


def test_demo_data_covers_every_case(runner, db):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    for email in (
        "agent@demo-travel.example",
        "agent@globe-travel.example",
        "ops@atlas.example",
        "admin@atlas.example",
    ):
        assert email in result.output
    assert db.session.scalar(select(func.count()).select_from(Account)) == 2
    bookings = db.session.scalars(select(Booking)).all()
    assert len(bookings) >= 40
    assert {b.payment_channel for b in bookings} == {"deposit", "vcc", "vcc_passthrough"}
    assert {b.airline.carrier_type for b in bookings} == {"LCC", "FSC"}
    assert {b.status for b in bookings} == {"ticketed", "cancelled"}
    assert db.session.scalar(select(func.count()).select_from(Passenger).where(Passenger.ptype == "INF")) > 0
    assert any(len(b.passengers) >= 3 for b in bookings)
    assert any(len(b.segments) >= 4 for b in bookings)  # a multi-segment round trip
    from portal.clock import utcnow

    now = utcnow()
    assert any(b.departs_within(now) for b in bookings if b.is_ticketed)
    assert any(all(s.is_flown(now) for s in b.segments) for b in bookings)
    assert db.session.scalar(select(func.count()).select_from(Segment)) > 60
    # Work in progress on every screen: refunds in several states, requests, baggage, a schedule change.
    from portal.models import BaggageOrder, LedgerEntry, Refund, ServiceRequest

    statuses = set(db.session.scalars(select(Refund.status)))
    assert {"requested", "submitted", "refunded"} <= statuses
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) >= 1
    assert {"processed", "in_process"} & set(db.session.scalars(select(ServiceRequest.status)))
    assert db.session.scalar(select(func.count()).select_from(BaggageOrder)) == 1
    assert any(b.action_required for b in db.session.scalars(select(Booking)))
    second = runner.invoke(args=["demo-data", "--if-empty"])
    assert second.exit_code == 0 and "Demo logins" in second.output


def test_import_bookings_refuses_a_ticket_another_booking_holds_and_echoes_bad_order_numbers(
    runner, db, tmp_path
):
    import json

    runner.invoke(args=["create-account", "DEMO", "--name", "Demo Travel", "--currency", "SGD"])
    assert runner.invoke(args=["import-bookings", str(EXAMPLE)]).exit_code == 0
    doc = json.loads(EXAMPLE.read_text())
    doc["bookings"][0]["order_number"] = "AT26119999"  # a new booking with AT26110001's tickets
    doc["bookings"][1]["order_number"] = "at-2611<0002>"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    result = runner.invoke(args=["import-bookings", str(bad)])
    assert result.exit_code != 0
    assert (
        "bookings[0] (AT26119999): passengers[0].ticket_number: 618-2400000001 is already a ticket of "
        "booking AT26110001" in result.output
    )
    assert "bookings[0] (AT26119999): passengers[1].ticket_number: 618-2400000002 is already" in result.output
    assert 'bookings[1] (order number "at-2611<0002>"): order_number: must be' in result.output
    assert "(?)" not in result.output
    assert "nothing was imported" in result.output
    assert db.session.scalar(select(func.count()).select_from(Booking)) == 2
