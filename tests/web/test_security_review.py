"""The security review of issue 12 and the API foundation: each finding's reproduction, now refused."""

import base64

from sqlalchemy import select

from portal.models import ApiKey, LoginCounter, PasswordReset
from portal.services.api_keys import create_api_key
from tests.conftest import PASSWORD

NEW = "a brand new pass phrase 7"


def _bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_a_key_stops_when_its_user_moves_to_another_account(client, auth, world, db):
    _, key = create_api_key(world.agent, "Mid-office", by=world.agent)
    db.session.commit()
    assert client.get("/api/v1/bookings/AT10000001", headers=_bearer(key)).status_code == 200
    auth.login(world.admin)
    response = client.post(
        f"/admin/users/{world.agent.id}",
        data={"name": world.agent.name, "role": "agent", "account": "OTHER", "active": "y"},
    )
    assert response.status_code == 303
    auth.logout()
    assert client.get("/api/v1/bookings/OT20000001", headers=_bearer(key)).status_code == 401
    assert db.session.scalar(select(ApiKey.revoked_at)) is not None


def test_the_hosts_staff_get_no_api_keys(client, auth, world, db):
    auth.login(world.ops)
    response = client.post("/account/api-keys", data={"name": "x"})
    assert response.status_code == 403
    assert db.session.scalar(select(ApiKey)) is None


def test_a_cursor_at_the_edge_of_time_is_a_422_not_a_500(client, world, db):
    _, key = create_api_key(world.agent, "k", by=world.agent)
    db.session.commit()
    for raw in ("9999-12-31T23:59:59-14:00|1", "2026-01-01T00:00:00+00:00|" + "9" * 100):
        cursor = base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")
        response = client.get(f"/api/v1/bookings?cursor={cursor}", headers=_bearer(key))
        assert response.status_code == 422 and response.json["errors"][0]["field"] == "cursor"


def test_booking_details_refuse_unknown_parameters(client, world, db):
    _, key = create_api_key(world.agent, "k", by=world.agent)
    db.session.commit()
    response = client.get("/api/v1/bookings/AT10000001?foo=1", headers=_bearer(key))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"


def test_guessing_the_current_password_on_my_account_is_throttled(client, auth, world):
    auth.login(world.agent)
    for _ in range(4):  # the login took its own attempt back: the pair allows five
        wrong = {"current_password": "a wrong guess", "new_password": NEW, "confirm": NEW}
        assert "not correct" in client.post("/account", data=wrong).get_data(as_text=True)
    client.post("/account", data={"current_password": "a wrong guess", "new_password": NEW, "confirm": NEW})
    right = {"current_password": PASSWORD, "new_password": NEW, "confirm": NEW}
    response = client.post("/account", data=right)
    assert response.status_code == 422 and "paused" in response.get_data(as_text=True)


def test_disabling_a_user_spends_their_reset_links(app, client, auth, world, db, monkeypatch):
    from portal.services.passwords import request_password_reset

    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")  # links can be e-mailed (queued, not sent)
    request_password_reset(world.agent.email, ip="127.0.0.1")
    db.session.commit()
    assert db.session.scalar(select(PasswordReset.used_at)) is None  # a live link
    auth.login(world.admin)
    client.post(f"/admin/users/{world.agent.id}/disable")
    client.post(f"/admin/users/{world.agent.id}/enable")
    db.session.expire_all()
    assert db.session.scalar(select(PasswordReset.used_at)) is not None


def test_no_reset_link_names_a_host_the_request_chose_without_a_public_address(
    another_app, smtp_server, world
):
    app = another_app(SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, SMTP_STARTTLS=False, TESTING=False)
    page = app.test_client().get("/password/forgot", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "ask" in page.lower() and "administrator" in page.lower()


def test_logins_with_a_code_cost_the_shared_budget_nothing(client, world, clock, db):
    import pyotp

    from tests.web.test_mfa import enrolled, password_step

    secret, _ = enrolled(db, world.agent, clock)
    for _ in range(3):
        password_step(client, world.agent)
        assert client.post("/login/code", data={"code": pyotp.TOTP(secret).at(clock.now)}).status_code == 303
        client.post("/logout")
        clock.advance(seconds=30)
    counters = dict(db.session.execute(select(LoginCounter.key, LoginCounter.attempts)).all())
    assert counters.get(f"email:{world.agent.email}", 0) == 0
    assert counters.get("address:127.0.0.1", 0) == 0
