"""Admin → Audit trail: logins, failed logins, users, accounts and adjustments are recorded once, with
who, whom and from where; admins filter them and download them as CSV; nobody can change them."""

import csv
import io

import pytest
from sqlalchemy import func, select

from portal.models import AuditEvent
from portal.models.audit import AppendOnlyViolation
from tests.conftest import PASSWORD


@pytest.fixture
def since(world, db):
    """The trail from here on: the world's own setup (accounts and users made by the CLI path) is before."""
    return db.session.scalar(select(func.max(AuditEvent.id))) or 0


def _events(db, since):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.id > since).order_by(AuditEvent.id)).all()


def test_a_login_a_failed_login_and_a_logout_are_recorded(client, world, db, since):
    client.post("/login", data={"email": world.agent.email, "password": "wrong password"})
    client.post("/login", data={"email": "nobody@nowhere.example", "password": "whatever pw"})
    client.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    client.post("/logout")
    events = _events(db, since)
    assert [e.kind for e in events] == ["login_failed", "login_failed", "login", "logout"]
    failed, unknown, login, logout = events
    assert failed.subject_user_id == world.agent.id and failed.detail == "wrong password"
    assert failed.account_id == world.demo.id and failed.ip == "127.0.0.1"
    assert unknown.subject_user_id is None and unknown.email == "nobody@nowhere.example"
    assert unknown.detail == "unknown e-mail"
    assert login.actor_id == world.agent.id and logout.actor_id == world.agent.id


def test_admin_changes_are_recorded_with_who_did_them(client, auth, world, db, since):
    auth.login(world.admin)
    client.post(
        "/admin/accounts", data={"code": "NEWCO", "name": "New Co", "currency": "SGD", "service_fee": "5"}
    )
    client.post(
        "/admin/users",
        data={
            "email": "new@newco.example",
            "name": "New",
            "role": "agent",
            "account": "NEWCO",
            "password": PASSWORD,
        },
    )
    client.post(f"/admin/users/{world.agent.id}/disable")
    client.post(
        f"/finance/statement/adjustments?account={world.demo.id}",
        data={"amount": "-25.50", "reason": "Goodwill"},
    )
    events = [e for e in _events(db, since) if e.kind != "login"]
    assert [e.kind for e in events] == [
        "account_created",
        "user_created",
        "user_disabled",
        "adjustment_posted",
    ]
    assert all(e.actor_id == world.admin.id for e in events)
    assert events[1].email == "new@newco.example" and events[1].detail == "Role agent, temporary password"
    assert events[2].subject_user_id == world.agent.id
    assert events[3].account_id == world.demo.id and events[3].detail == "SGD -25.50 on DEMO: Goodwill"


def test_the_page_filters_and_the_csv_matches(client, auth, world, db, since):
    client.post("/login", data={"email": world.agent.email, "password": "wrong password"})
    client.post("/login", data={"email": "=cmd|'/c calc'!A1@x.example", "password": "whatever pw"})
    auth.login(world.admin)
    page = client.get("/admin/audit?kind=login_failed").get_data(as_text=True)
    assert "<td>Failed login</td>" in page and world.agent.email in page and "<td>Logged in</td>" not in page
    partial = client.get("/admin/audit?email=agent%40demo", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in body
    assert world.agent.email in body and "x.example" not in body
    response = client.get("/admin/audit.csv?kind=login_failed")
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["Time", "Event", "E-mail", "Account", "By", "Address", "Details"]
    emails = {row[2] for row in rows[1:]}
    assert world.agent.email in emails
    assert "'=cmd|'/c calc'!a1@x.example" in emails  # a formula is neutralised, not executed by Excel
    assert len(rows) == 3


def test_entries_cannot_be_changed_or_deleted(client, world, db, since):
    client.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    (event,) = _events(db, since)
    event.detail = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    db.session.delete(_events(db, since)[0])
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    assert [e.kind for e in _events(db, since)] == ["login"] and _events(db, since)[0].detail is None


@pytest.mark.parametrize("role", ["agent", "ops"])
def test_only_admins_see_the_trail(client, auth, world, role):
    auth.login(world.agent if role == "agent" else world.ops)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit.csv").status_code == 403
