"""The session cookie (security.ThrottledRefreshSessionInterface): sent again when the session changed or
when the browser's copy was signed over five minutes ago, so an active user's 12-hour session keeps
sliding forward while most requests send no cookie at all; an idle one still ends after 12 hours."""

import time

from itsdangerous.timed import TimestampSigner


def _signed_ago(monkeypatch, seconds: int) -> None:
    """Cookies signed from now on carry a signing time `seconds` in the past."""
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - seconds)


def test_a_fresh_session_is_not_sent_again_on_every_page(client, auth, world):
    assert auth.login(world.agent).headers["Set-Cookie"].startswith("session=")
    client.get("/bookings/")  # the login's first page may still settle the session
    page = client.get("/bookings/")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert "My Bookings" in page.text  # still logged in, with the cookie the browser already has


def test_an_active_users_cookie_older_than_five_minutes_is_renewed(client, auth, world, monkeypatch):
    _signed_ago(monkeypatch, 6 * 60)
    auth.login(world.agent)
    client.get("/bookings/")  # whatever the first page settles is signed six minutes ago too
    monkeypatch.undo()
    renewed = client.get("/bookings/")
    cookie = renewed.headers.get("Set-Cookie", "")
    assert cookie.startswith("session=") and "Expires=" in cookie  # a permanent session, 12 hours on
    assert "Set-Cookie" not in client.get("/bookings/").headers  # and now fresh again


def test_a_session_idle_for_twelve_hours_has_ended(client, auth, world, monkeypatch):
    _signed_ago(monkeypatch, 12 * 3600 + 60)
    auth.login(world.agent)
    monkeypatch.undo()
    response = client.get("/bookings/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_change_to_the_session_is_always_sent(client, auth, world):
    auth.login(world.agent)
    client.get("/bookings/")
    logout = auth.logout()
    assert logout.headers["Set-Cookie"].startswith("session=")  # emptied at once
    assert client.get("/bookings/").status_code == 302
