"""API keys on the user's own page and at the command line: shown once, stored as a hash, listed with
their last use, revoked; an agency admin runs its own account's keys and never another's."""

import hashlib
import re

from sqlalchemy import select

from portal.domain.audit import AuditKind
from portal.models import ApiKey, AuditEvent
from portal.services.api_keys import create_api_key

KEY = re.compile(r"ptk_[A-Za-z0-9_-]{43}")


def _keys(db, user):
    return db.session.scalars(select(ApiKey).where(ApiKey.user_id == user.id)).all()


def _audit(db, kind):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind.value)).all()


def test_the_header_links_the_page(client, auth, world):
    auth.login(world.agent)
    page = client.get("/bookings/").get_data(as_text=True)
    assert 'href="/account/api-keys"' in page and ">API keys<" in page


def test_a_key_is_created_shown_once_and_stored_as_a_hash(client, auth, db, world):
    auth.login(world.agent)
    response = client.post("/account/api-keys", data={"name": "Mid-office"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    secret = KEY.search(page).group(0)
    assert 'data-copy="new-api-key"' in page and "shown once" in page
    [key] = _keys(db, world.agent)
    assert key.name == "Mid-office"
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in (key.prefix, key.key_hash) and secret.startswith(key.prefix)
    # The key works, and the page never shows it again.
    assert client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    again = client.get("/account/api-keys").get_data(as_text=True)
    assert secret not in again and "Mid-office" in again and key.prefix in again
    [event] = _audit(db, AuditKind.API_KEY_CREATED)
    assert event.actor_id == world.agent.id and "Mid-office" in event.detail


def test_a_key_needs_a_name(client, auth, db, world):
    auth.login(world.agent)
    response = client.post("/account/api-keys", data={"name": "  "})
    assert response.status_code == 422
    assert "Give the key a name." in response.get_data(as_text=True)
    assert _keys(db, world.agent) == []


def test_the_list_shows_when_each_key_was_last_used(client, auth, db, world):
    _, secret = create_api_key(world.agent, "Nightly sync", by=world.agent)
    db.session.commit()
    auth.login(world.agent)
    assert "Never" in client.get("/account/api-keys").get_data(as_text=True)
    client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {secret}"})
    page = client.get("/account/api-keys").get_data(as_text=True)
    assert "Nightly sync" in page and "Never" not in page


def test_revoking_stops_the_key(client, auth, db, world):
    key, secret = create_api_key(world.agent, "Mid-office", by=world.agent)
    db.session.commit()
    auth.login(world.agent)
    response = client.post(f"/account/api-keys/{key.id}/revoke")
    assert response.status_code == 303
    assert client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    db.session.expire_all()
    assert db.session.get(ApiKey, key.id).revoked_at is not None
    [event] = _audit(db, AuditKind.API_KEY_REVOKED)
    assert event.actor_id == world.agent.id and event.subject_user_id == world.agent.id
    assert "Revoked" in client.get("/account/api-keys").get_data(as_text=True)


def test_another_agents_key_is_not_found(client, auth, db, make, world):
    colleague = make.user("agent", world.demo, email="colleague@demo.example")
    key, _ = create_api_key(colleague, "Theirs", by=colleague)
    db.session.commit()
    auth.login(world.agent)
    assert client.post(f"/account/api-keys/{key.id}/revoke").status_code == 404
    assert "Theirs" not in client.get("/account/api-keys").get_data(as_text=True)


def test_an_agency_admin_sees_and_revokes_its_own_accounts_keys_only(client, auth, db, world):
    own, own_secret = create_api_key(world.agent, "Demo sync", by=world.agent)
    theirs, _ = create_api_key(world.other_agent, "Other sync", by=world.other_agent)
    db.session.commit()
    auth.login(world.agency_admin)
    page = client.get("/account/api-keys").get_data(as_text=True)
    assert "Demo sync" in page and world.agent.email in page
    assert "Other sync" not in page and world.other_agent.email not in page
    assert client.post(f"/account/api-keys/{theirs.id}/revoke").status_code == 404
    assert client.post(f"/account/api-keys/{own.id}/revoke").status_code == 303
    assert (
        client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {own_secret}"}).status_code == 401
    )
    [event] = _audit(db, AuditKind.API_KEY_REVOKED)
    assert event.actor_id == world.agency_admin.id and event.subject_user_id == world.agent.id


def test_an_agent_sees_no_colleagues_keys(client, auth, db, world):
    create_api_key(world.agency_admin, "Boss key", by=world.agency_admin)
    db.session.commit()
    auth.login(world.agent)
    assert "Boss key" not in client.get("/account/api-keys").get_data(as_text=True)


def test_the_command_line_prints_the_key_alone_on_its_last_line(runner, client, db, world):
    result = runner.invoke(args=["create-api-key", world.agent.email, "--name", "Nightly sync"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert KEY.fullmatch(last)
    assert client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {last}"}).status_code == 200
    db.session.expire_all()
    [key] = _keys(db, world.agent)
    assert key.name == "Nightly sync"
    assert len(_audit(db, AuditKind.API_KEY_CREATED)) == 1


def test_the_command_line_refuses_an_unknown_user(runner, world):
    result = runner.invoke(args=["create-api-key", "nobody@example.com", "--name", "X"])
    assert result.exit_code != 0 and "No user" in result.output
