"""CSRF protection on: every POST needs the token, in the form or in htmx's X-CSRFToken header."""

import re

import pytest

from tests.conftest import PASSWORD


@pytest.fixture
def csrf_client(another_app):
    return another_app(WTF_CSRF_ENABLED=True).test_client()


def token_from(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def login(client, user):
    token = token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303


def test_login_without_token_is_refused_kindly(csrf_client, world):
    response = csrf_client.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This form has expired" in page and "nothing was saved" in page
    assert csrf_client.get("/bookings/").status_code == 302


def test_post_without_token_changes_nothing(csrf_client, world, db):
    login(csrf_client, world.admin)
    response = csrf_client.post(f"/admin/users/{world.agent.id}/disable")
    assert response.status_code == 400
    db.session.refresh(world.agent)
    assert world.agent.active


def test_htmx_header_token_is_accepted(csrf_client, world, db):
    login(csrf_client, world.admin)
    page = csrf_client.get("/admin/users").get_data(as_text=True)
    header_token = re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)
    response = csrf_client.post(
        f"/admin/users/{world.agent.id}/disable", headers={"X-CSRFToken": header_token, "HX-Request": "true"}
    )
    assert response.status_code == 303
    db.session.refresh(world.agent)
    assert not world.agent.active


def test_expired_token_in_htmx_request_gets_a_partial_message(csrf_client, world):
    login(csrf_client, world.admin)
    response = csrf_client.post(
        f"/admin/users/{world.agent.id}/disable", headers={"X-CSRFToken": "stale", "HX-Request": "true"}
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "This form has expired" in body and "<header" not in body


def test_logout_needs_the_token(csrf_client, world):
    login(csrf_client, world.agent)
    assert csrf_client.post("/logout").status_code == 400
    assert csrf_client.get("/bookings/").status_code == 200


def _header_token(client) -> str:
    page = client.get("/bookings/").get_data(as_text=True)
    return re.search(r'hx-headers=\'\{"X-CSRFToken": "([^"]+)"\}\'', page).group(1)


def test_a_sessions_token_is_signed_once_and_reused_for_a_few_minutes(csrf_client, world, db):
    # security.csrf_token: the signed token is kept per session for CSRF_TOKEN_REUSE_SECONDS, never shared.
    login(csrf_client, world.admin)
    first = _header_token(csrf_client)
    assert _header_token(csrf_client) == first
    other = csrf_client.application.test_client()  # another browser, the same worker
    login(other, world.ops)
    others = _header_token(other)
    assert others != first and _header_token(csrf_client) == first  # each session signs its own
    assert other.post("/logout", headers={"X-CSRFToken": others}).status_code in (302, 303)
    response = csrf_client.post(
        f"/admin/users/{world.agent.id}/disable", headers={"X-CSRFToken": first, "HX-Request": "true"}
    )
    assert response.status_code < 400
    db.session.refresh(world.agent)
    assert not world.agent.active


def test_a_kept_token_is_signed_anew_after_a_few_minutes(csrf_client, world, db, monkeypatch):
    from portal import security

    signed = []

    def counting_generate_csrf():
        signed.append(security_generate_csrf())
        return signed[-1]

    security_generate_csrf = security.generate_csrf
    monkeypatch.setattr(security, "generate_csrf", counting_generate_csrf)
    login(csrf_client, world.admin)
    signed.clear()
    first = _header_token(csrf_client)
    _header_token(csrf_client)
    assert len(signed) <= 1  # signed at most once (the login's page may have signed it already)
    monkeypatch.setattr(security, "CSRF_TOKEN_REUSE_SECONDS", 0)
    second = _header_token(csrf_client)
    assert signed and signed[-1] == second  # signed anew
    for token, user in ((first, world.agent), (second, world.other_agent)):
        response = csrf_client.post(
            f"/admin/users/{user.id}/disable", headers={"X-CSRFToken": token, "HX-Request": "true"}
        )
        assert response.status_code < 400, token
        db.session.refresh(user)
        assert not user.active


def test_a_page_never_carries_an_expired_token_when_tokens_live_briefly(another_app, world, db):
    # With WTF_CSRF_TIME_LIMIT under the reuse window, a kept token must not outlive its signature.
    import time

    client = another_app(WTF_CSRF_ENABLED=True, WTF_CSRF_TIME_LIMIT=1).test_client()
    login(client, world.admin)
    _header_token(client)
    time.sleep(1.2)  # the first token has expired (what is measured here is the token's age)
    token = _header_token(client)
    response = client.post(
        f"/admin/users/{world.agent.id}/disable", headers={"X-CSRFToken": token, "HX-Request": "true"}
    )
    assert response.status_code < 400
