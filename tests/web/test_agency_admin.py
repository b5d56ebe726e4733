"""Issue 12, point 2: an agency's own admin runs the users of its own account (invite by e-mail or with a
temporary password, disable, enable, reset) and sees what its agents see; never another account's."""

import pytest
from sqlalchemy import select

from portal.jobs import send_outbox
from portal.models import AuditEvent, User
from tests.conftest import PASSWORD

HX = {"HX-Request": "true"}
NEW = "a brand new pass phrase 7"


def _login(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def test_the_page_lists_only_the_agencys_own_users(client, auth, world):
    auth.login(world.agency_admin)
    page = client.get("/agency/users").get_data(as_text=True)
    assert world.agent.email in page and world.agency_admin.email in page
    assert world.other_agent.email not in page and world.ops.email not in page


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/agency/users/{id}/disable", {}),
        ("/agency/users/{id}/enable", {}),
        ("/agency/users/{id}/reset-link", {}),
        ("/agency/users/{id}/temporary-password", {"password": NEW}),
    ],
)
def test_another_agencys_user_is_not_found(client, auth, world, db, url, data):
    auth.login(world.agency_admin)
    for headers in ({}, HX):
        response = client.post(url.format(id=world.other_agent.id), data=data, headers=headers)
        assert response.status_code == 404
    db.session.expire_all()
    other = db.session.get(User, world.other_agent.id)
    assert other.active and not other.must_change_password


@pytest.mark.parametrize("role", ["agent", "ops", "admin"])
def test_only_an_agency_admin_may(client, auth, world, role):
    auth.login({"agent": world.agent, "ops": world.ops, "admin": world.admin}[role])
    assert client.get("/agency/users").status_code == 403
    assert client.post(f"/agency/users/{world.agent.id}/disable").status_code == 403


def test_inviting_with_a_temporary_password_makes_an_agent_of_the_own_account(client, auth, world, db):
    auth.login(world.agency_admin)
    response = client.post(
        "/agency/users",
        data={"email": "new@demo.example", "name": "New Agent", "role": "agent", "temporary_password": NEW},
    )
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "new@demo.example"))
    assert user.account_id == world.demo.id and user.role == "agent" and user.must_change_password
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.kind == "user_created", AuditEvent.email == "new@demo.example")
    )
    assert event.actor_id == world.agency_admin.id and event.account_id == world.demo.id
    auth.logout()
    first = _login(client, "new@demo.example", NEW)
    assert first.headers["Location"] == "/account"  # chooses their own password first


def test_without_email_an_invitation_needs_a_temporary_password(client, auth, world, db):
    auth.login(world.agency_admin)
    response = client.post("/agency/users", data={"email": "x@demo.example", "name": "X", "role": "agent"})
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "type a temporary password" in body
    assert db.session.scalar(select(User).where(User.email == "x@demo.example")) is None


def test_an_invitation_by_email_lets_the_new_user_choose_a_password(mail_app, smtp_server, world, db):
    app = mail_app()
    boss = app.test_client()
    _login(boss, world.agency_admin.email)
    response = boss.post(
        "/agency/users", data={"email": "invited@demo.example", "name": "Invited", "role": "agent"}
    )
    assert response.status_code == 303
    with app.app_context():
        assert send_outbox()["sent"] == 1
    [message] = smtp_server.messages
    assert message["To"] == "invited@demo.example"
    [link] = smtp_server.links()
    newcomer = app.test_client()
    path = link.split("://", 1)[1].split("/", 1)[1]
    response = newcomer.post("/" + path, data={"new_password": NEW, "confirm": NEW})
    assert response.status_code in (200, 303), response.get_data(as_text=True)[:400]
    assert _login(newcomer, "invited@demo.example", NEW).status_code == 303
    assert newcomer.get("/bookings/").status_code == 200  # an agent of the same account


def test_disabling_a_user_ends_their_sessions_but_not_ones_own(client, auth, world, another_app, db):
    agent_client = another_app().test_client()
    assert _login(agent_client, world.agent.email).status_code == 303
    auth.login(world.agency_admin)
    assert client.post(f"/agency/users/{world.agent.id}/disable").status_code == 303
    assert agent_client.get("/bookings/").status_code == 302  # logged out at once
    client.post(f"/agency/users/{world.agency_admin.id}/disable")
    db.session.expire_all()
    assert db.session.get(User, world.agency_admin.id).active


def test_an_agency_admin_sees_and_does_what_its_agents_do(client, auth, world):
    auth.login(world.agency_admin)
    assert client.get(f"/bookings/{world.booking.order_number}").status_code == 200
    assert client.get(f"/bookings/{world.other_booking.order_number}").status_code == 404
    page = client.get("/finance/refunds/agent").get_data(as_text=True)
    assert "Initiate a Refund" in page  # the batch upload is the agency's own
    header = client.get("/bookings/").get_data(as_text=True)
    assert "Balance:" in header and "Agency users" in header


def test_the_host_admin_can_make_an_agency_admin(client, auth, world, db):
    auth.login(world.admin)
    response = client.post(
        "/admin/users",
        data={
            "email": "chief@other.example",
            "name": "Chief",
            "role": "agency_admin",
            "account": "OTHER",
            "password": NEW,
        },
    )
    assert response.status_code == 303
    chief = db.session.scalar(select(User).where(User.email == "chief@other.example"))
    assert chief.is_agency_admin and chief.account_id == world.other.id
    refused = client.post(
        "/admin/users",
        data={
            "email": "nowhere@x.example",
            "name": "N",
            "role": "agency_admin",
            "account": "",
            "password": NEW,
        },
    )
    assert refused.status_code == 422 and "must belong to a client account" in refused.get_data(as_text=True)


def test_an_agency_admin_neither_makes_nor_manages_another_agency_admin(client, auth, world, make, db):
    """Security review of issue 12: agency admins are the host's to make, unmake and reset."""
    colleague = make.user("agency_admin", world.demo, email="second@demo.example")
    auth.login(world.agency_admin)
    invited = client.post(
        "/agency/users",
        data={"email": "puppet@demo.example", "name": "P", "role": "agency_admin", "temporary_password": NEW},
    )
    assert invited.status_code == 422
    assert db.session.scalar(select(User).where(User.email == "puppet@demo.example")) is None
    for url, data in (
        (f"/agency/users/{colleague.id}/disable", {}),
        (f"/agency/users/{colleague.id}/temporary-password", {"password": NEW}),
    ):
        client.post(url, data=data)
    db.session.expire_all()
    colleague = db.session.get(User, colleague.id)
    assert colleague.active and not colleague.must_change_password
