"""Issue 12, point 1: changing one's password, reset links by e-mail (through a real SMTP server),
temporary passwords typed by an admin, and the admin's user and account pages."""

import hashlib
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from portal.extensions import db as _db
from portal.jobs import send_outbox
from portal.models import AuditEvent, OutboxEmail, PasswordReset, User
from tests.conftest import PASSWORD

NEW = "lantern orbit cactus"
SAME_ANSWER = "If an account exists for that address, we sent a link to it."


def _events(db, kind):
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)))


def _login(client, email, password=PASSWORD):
    return client.post("/login", data={"email": email, "password": password})


def _main(response) -> str:
    """The page's own content (the header carries a per-session CSRF token)."""
    page = response.get_data(as_text=True)
    return page[page.index('<main id="main">') : page.index("</main>")]


def _send_mail(app):
    """Run the outbox job of `app` (the scheduler would), which hands the mail to the SMTP server."""
    with app.app_context():
        result = send_outbox()
        _db.session.remove()
    return result


# --- changing one's own password ------------------------------------------------------------------------


def test_my_account_is_linked_in_the_header(client, auth, world):
    auth.login(world.agent)
    page = client.get("/bookings/").get_data(as_text=True)
    assert 'href="/account"' in page and ">My account</a>" in page
    account = client.get("/account").get_data(as_text=True)
    assert "Change password" in account and world.agent.email in account


def test_changing_the_password_keeps_this_session_and_ends_the_others(app, client, auth, world, db):
    other_browser = app.test_client()
    assert _login(other_browser, world.agent.email).status_code == 303
    auth.login(world.agent)
    response = client.post(
        "/account", data={"current_password": PASSWORD, "new_password": NEW, "confirm": NEW}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert "Your password was changed" in client.get("/account").get_data(as_text=True)
    assert client.get("/bookings/").status_code == 200  # this browser stays logged in
    assert other_browser.get("/bookings/").status_code == 302  # the other one is logged out
    assert _login(app.test_client(), world.agent.email).status_code == 422  # the old password is gone
    assert _login(app.test_client(), world.agent.email, NEW).status_code == 303
    [event] = _events(db, "password_changed")
    assert event.actor_id == world.agent.id


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"current_password": "not it at all", "new_password": NEW, "confirm": NEW},
            "current_password",
            "The current password is not correct.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "short", "confirm": "short"},
            "new_password",
            "The password must have at least 10 characters.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "qwertyuiop", "confirm": "qwertyuiop"},
            "new_password",
            "list of common passwords",
        ),
        (
            {
                "current_password": PASSWORD,
                "new_password": "AGENT12345@demo.example",
                "confirm": "AGENT12345@demo.example",
            },
            "new_password",
            "cannot be the e-mail address",
        ),
        (  # the part of the user's address before the @
            {"current_password": PASSWORD, "new_password": "agent12345", "confirm": "agent12345"},
            "new_password",
            "cannot be the e-mail address",
        ),
        (
            {"current_password": PASSWORD, "new_password": PASSWORD, "confirm": PASSWORD},
            "new_password",
            "different from the current one",
        ),
        (
            {"current_password": PASSWORD, "new_password": NEW, "confirm": NEW + "x"},
            "confirm",
            "The two passwords are not the same.",
        ),
    ],
)
def test_a_refused_change_says_why_under_its_field_and_changes_nothing(
    client, auth, world, make, db, data, field, message
):
    user = make.user("agent", world.demo, email="agent12345@demo.example")
    auth.login(user)
    before = db.session.scalar(select(User.password_hash).where(User.id == user.id))
    response = client.post("/account", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page, page[page.find("error") - 300 :][:800]
    db.session.expire_all()
    assert db.session.scalar(select(User.password_hash).where(User.id == user.id)) == before
    assert client.get("/bookings/").status_code == 200


# --- temporary passwords ----------------------------------------------------------------------------------


def _admin_creates(client, auth, world, email="new.agent@demo.example", password="a temporary pass 42"):
    auth.login(world.admin)
    response = client.post(
        "/admin/users",
        data={"email": email, "name": "New Agent", "role": "agent", "account": "DEMO", "password": password},
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    auth.logout()
    return email, password


def test_a_password_typed_by_an_admin_must_be_changed_at_first_login(app, client, auth, world, db):
    email, temporary = _admin_creates(client, auth, world)
    response = _login(client, email, temporary)
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert "Your password was set by an administrator" in page

    # Every other URL leads back there, pages, partials and posts alike...
    for url in ("/bookings/", f"/bookings/{world.booking.order_number}", "/requests/", "/notifications/"):
        answer = client.get(url)
        assert answer.status_code == 302 and answer.headers["Location"] == "/account", url
        partial = client.get(url, headers={"HX-Request": "true"})
        assert partial.status_code == 204 and partial.headers["HX-Redirect"] == "/account", url
    posted = client.post("/requests/new", data={"order_number": world.booking.order_number})
    assert posted.status_code == 302 and posted.headers["Location"] == "/account"
    # ...except the stylesheet, the header's bell (it polls: a redirect would reload the page under the
    # user's typing) and logging out.
    assert client.get("/notifications/bell", headers={"HX-Request": "true"}).status_code == 200
    stylesheet = client.get("/static/portal.css")
    stylesheet.close()
    assert stylesheet.status_code == 200

    # The temporary password cannot be kept.
    same = client.post(
        "/account", data={"current_password": temporary, "new_password": temporary, "confirm": temporary}
    )
    assert same.status_code == 422
    changed = client.post(
        "/account", data={"current_password": temporary, "new_password": NEW, "confirm": NEW}
    )
    assert changed.status_code == 303 and changed.headers["Location"] == "/home"
    assert client.get("/bookings/").status_code == 200
    user = db.session.scalar(select(User).where(User.email == email))
    assert user.must_change_password is False


def test_logging_out_is_open_with_a_temporary_password(client, auth, world):
    email, temporary = _admin_creates(client, auth, world)
    _login(client, email, temporary)
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert client.get("/bookings/").headers["Location"].startswith("/login")


def test_an_admin_sets_a_temporary_password_on_the_users_page(app, client, auth, world, db):
    agent_browser = app.test_client()
    _login(agent_browser, world.agent.email)
    auth.login(world.admin)
    page = client.get(f"/admin/users/{world.agent.id}").get_data(as_text=True)
    assert "Set a temporary password" in page and "Save changes" in page
    weak = client.post(f"/admin/users/{world.agent.id}/password", data={"password": "agent@demo.example"})
    assert weak.status_code == 422 and "cannot be the e-mail address" in weak.get_data(as_text=True)
    response = client.post(
        f"/admin/users/{world.agent.id}/password", data={"password": "a temporary pass 42"}
    )
    assert response.status_code == 303
    assert agent_browser.get("/bookings/").status_code == 302  # their sessions ended
    relogin = _login(agent_browser, world.agent.email, "a temporary pass 42")
    assert relogin.headers["Location"] == "/account"
    [event] = _events(db, "password_reset")
    assert event.actor_id == world.admin.id and event.subject_user_id == world.agent.id
    own = client.post(f"/admin/users/{world.admin.id}/password", data={"password": "a temporary pass 42"})
    assert own.status_code == 422 and "Change your own password on My account." in own.get_data(as_text=True)


# --- reset by e-mail ----------------------------------------------------------------------------------------


def test_without_smtp_the_forgot_page_says_to_ask_an_administrator(client, world, db):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password/forgot"' in page and "Forgot your password?" in page
    forgot = client.get("/password/forgot").get_data(as_text=True)
    assert "This portal sends no e-mail" in forgot and "temporary password" in forgot
    response = client.post("/password/forgot", data={"email": world.agent.email})
    assert response.status_code == 200 and "This portal sends no e-mail" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PasswordReset)) == 0
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 0


def test_the_answer_is_the_same_whether_or_not_the_address_exists(mail_app, world, db):
    app = mail_app()
    known = app.test_client().post("/password/forgot", data={"email": world.agent.email})
    unknown = app.test_client().post("/password/forgot", data={"email": "nobody@demo.example"})
    assert known.status_code == unknown.status_code == 200
    assert SAME_ANSWER in known.get_data(as_text=True)
    assert _main(known) == _main(unknown)
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 1
    events = _events(db, "password_reset_requested")
    assert [e.detail for e in events] == ["Link sent", "Not sent: no such user"]


def test_a_reset_link_sent_by_email_sets_a_new_password_and_ends_every_session(
    mail_app, smtp_server, world, db
):
    app = mail_app()
    logged_in = app.test_client()
    assert _login(logged_in, world.agent.email).status_code == 303
    browser = app.test_client()
    browser.post("/password/forgot", data={"email": "  Agent@Demo.example "})
    assert _send_mail(app) == {"sent": 1, "failed": 0}

    [message] = smtp_server.messages
    assert message["To"] == world.agent.email and "Reset your password" in message["Subject"]
    [link] = smtp_server.links()
    # No PORTAL_PUBLIC_URL: the link names the host the request came to.
    assert link.startswith("http://localhost/password/reset/")
    token = urlsplit(link).path.rsplit("/", 1)[1]
    stored = db.session.scalars(select(PasswordReset)).one()
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()  # only the hash is kept
    assert token not in stored.token_hash

    page = browser.get(urlsplit(link).path)
    assert page.status_code == 200 and "Set new password" in page.get_data(as_text=True)
    weak = browser.post(urlsplit(link).path, data={"new_password": "password123", "confirm": "password123"})
    assert weak.status_code == 422 and "common passwords" in weak.get_data(as_text=True)
    done = browser.post(urlsplit(link).path, data={"new_password": NEW, "confirm": NEW})
    assert done.status_code == 303 and done.headers["Location"] == "/login"

    assert logged_in.get("/bookings/").status_code == 302  # every session ended
    assert _login(browser, world.agent.email, PASSWORD).status_code == 422
    assert _login(browser, world.agent.email, NEW).status_code == 303
    assert browser.get("/bookings/").status_code == 200

    used = app.test_client().get(urlsplit(link).path)
    assert used.status_code == 409 and "This reset link was already used" in used.get_data(as_text=True)
    assert [e.kind for e in _events(db, "password_reset")] == ["password_reset"]


def test_the_link_uses_the_public_url_when_one_is_set(mail_app, smtp_server, world):
    app = mail_app(PUBLIC_URL="https://portal.example.com/")
    app.test_client().post("/password/forgot", data={"email": world.agent.email})
    _send_mail(app)
    [link] = smtp_server.links()
    assert link.startswith("https://portal.example.com/password/reset/")


def test_an_expired_link_says_so(mail_app, smtp_server, clock, world):
    app = mail_app()
    app.test_client().post("/password/forgot", data={"email": world.agent.email})
    _send_mail(app)
    path = urlsplit(smtp_server.links()[0]).path
    clock.advance(minutes=59)
    assert app.test_client().get(path).status_code == 200
    clock.advance(minutes=1)
    expired = app.test_client().post(path, data={"new_password": NEW, "confirm": NEW})
    assert expired.status_code == 409
    assert "This reset link has expired: links work for one hour." in expired.get_data(as_text=True)
    assert _login(app.test_client(), world.agent.email).status_code == 303  # nothing changed


def test_an_unknown_link_is_not_found(client, world):
    assert client.get("/password/reset/not-a-token").status_code == 404


def test_a_new_password_makes_earlier_links_useless(mail_app, smtp_server, world, db):
    app = mail_app()
    browser = app.test_client()
    browser.post("/password/forgot", data={"email": world.agent.email})
    _send_mail(app)
    path = urlsplit(smtp_server.links()[0]).path
    _login(browser, world.agent.email)
    browser.post("/account", data={"current_password": PASSWORD, "new_password": NEW, "confirm": NEW})
    assert app.test_client().get(path).status_code == 409


def test_at_most_three_links_an_hour_reach_a_mailbox(mail_app, world, db):
    app = mail_app()
    for _ in range(5):
        answer = app.test_client().post("/password/forgot", data={"email": world.agent.email})
        assert SAME_ANSWER in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(OutboxEmail)) == 3


def test_a_reset_lifts_the_login_pause(mail_app, smtp_server, world):
    app = mail_app()
    browser = app.test_client()
    for _ in range(5):
        _login(browser, world.agent.email, "not the password")
    paused = _login(browser, world.agent.email)
    page = paused.get_data(as_text=True)
    assert paused.status_code == 422 and "try again in 15 minutes, or reset your password" in page
    assert '<a href="/password/forgot">Reset your password</a>' in page
    browser.post("/password/forgot", data={"email": world.agent.email})
    _send_mail(app)
    path = urlsplit(smtp_server.links()[0]).path
    browser.post(path, data={"new_password": NEW, "confirm": NEW})
    assert _login(browser, world.agent.email, NEW).status_code == 303


# --- admin: users ------------------------------------------------------------------------------------------


def test_an_admin_sends_a_reset_link_from_the_users_page(mail_app, smtp_server, world, db):
    app = mail_app()
    admin = app.test_client()
    _login(admin, world.admin.email)
    page = admin.get(f"/admin/users/{world.agent.id}").get_data(as_text=True)
    assert "Send reset link" in page
    response = admin.post(f"/admin/users/{world.agent.id}/reset-link")
    assert response.status_code == 303
    assert "A reset link was sent to agent@demo.example" in admin.get(response.headers["Location"]).get_data(
        as_text=True
    )
    _send_mail(app)
    assert smtp_server.messages[0]["To"] == world.agent.email
    [event] = _events(db, "password_reset_requested")
    assert event.actor_id == world.admin.id and event.subject_user_id == world.agent.id


def test_without_smtp_the_admin_is_told_to_set_a_temporary_password(client, auth, world, db):
    auth.login(world.admin)
    page = client.get(f"/admin/users/{world.agent.id}").get_data(as_text=True)
    assert "Send reset link" not in page and "sends no e-mail" in page
    response = client.post(f"/admin/users/{world.agent.id}/reset-link", follow_redirects=True)
    assert "set a temporary password instead" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(PasswordReset)) == 0


def test_an_admin_changes_a_users_role_and_the_change_is_audited(app, client, auth, world, db):
    agent_browser = app.test_client()
    _login(agent_browser, world.agent.email)
    auth.login(world.admin)
    assert "Edit" in client.get("/admin/users").get_data(as_text=True)
    response = client.post(
        f"/admin/users/{world.agent.id}",
        data={"name": "Promoted Person", "role": "operations", "account": "", "active": "y"},
    )
    assert response.status_code == 303
    db.session.expire_all()
    user = db.session.get(User, world.agent.id)
    assert (user.name, user.role, user.account_id) == ("Promoted Person", "operations", None)
    [role] = _events(db, "role_changed")
    assert role.detail == "agent → operations" and role.actor_id == world.admin.id
    [changed] = _events(db, "user_changed")
    assert changed.detail == "name Test User → Promoted Person; account DEMO → —"
    assert agent_browser.get("/bookings/").status_code == 302  # what they may see changed: log in again


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (
            {"name": "X", "role": "agent", "account": ""},
            "account",
            "An agent must belong to a client account.",
        ),
        ({"name": "X", "role": "admin", "account": "DEMO"}, "account", "belong to the host"),
        ({"name": " ", "role": "agent", "account": "DEMO"}, "name", "This field is required."),
    ],
)
def test_user_changes_are_refused_under_their_field(client, auth, world, db, data, field, message):
    auth.login(world.admin)
    response = client.post(f"/admin/users/{world.agent.id}", data=dict(data, active="y"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    db.session.expire_all()
    assert db.session.get(User, world.agent.id).role == "agent"
    assert _events(db, "role_changed") == [] and _events(db, "user_changed") == []


def test_an_admin_keeps_their_own_role_and_stays_active(client, auth, world, db):
    auth.login(world.admin)
    demote = client.post(f"/admin/users/{world.admin.id}", data={"name": "Admin", "role": "operations"})
    assert demote.status_code == 422 and "You cannot change your own role." in demote.get_data(as_text=True)
    disable = client.post(f"/admin/users/{world.admin.id}", data={"name": "Admin", "role": "admin"})
    assert disable.status_code == 422 and "You cannot disable yourself." in disable.get_data(as_text=True)


def test_disabling_on_the_users_page_ends_their_sessions(app, client, auth, world, db):
    agent_browser = app.test_client()
    _login(agent_browser, world.agent.email)
    auth.login(world.admin)
    response = client.post(
        f"/admin/users/{world.agent.id}", data={"name": "Test User", "role": "agent", "account": "DEMO"}
    )
    assert response.status_code == 303
    assert agent_browser.get("/bookings/").status_code == 302
    assert [e.kind for e in _events(db, "user_disabled")] == ["user_disabled"]


# --- admin: accounts ------------------------------------------------------------------------------------


def test_an_admin_edits_an_account(client, auth, world, db):
    auth.login(world.admin)
    assert f'href="/admin/accounts/{world.demo.id}"' in client.get("/admin/accounts").get_data(as_text=True)
    form = client.get(f"/admin/accounts/{world.demo.id}").get_data(as_text=True)
    assert 'value="15.00"' in form and "E-mail addresses for statements" in form
    response = client.post(
        f"/admin/accounts/{world.demo.id}",
        data={
            "name": "Demo Travel Pte Ltd",
            "service_fee": "12.50",
            "statement_emails": "Finance@Demo.example\nboss@demo.example",
            "notice_emails": "ops@demo.example, ops@demo.example",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    account = world.demo
    assert account.name == "Demo Travel Pte Ltd" and str(account.service_fee) == "12.50"
    assert account.statement_addresses == ["finance@demo.example", "boss@demo.example"]
    assert account.notice_addresses == ["ops@demo.example"]
    [event] = _events(db, "account_changed")
    assert event.detail == (
        "DEMO: name DEMO Travel → Demo Travel Pte Ltd; service fee SGD 15.00 → SGD 12.50; "
        "statements to finance@demo.example, boss@demo.example; notices to ops@demo.example"
    )
    assert event.actor_id == world.admin.id and event.account_id == world.demo.id


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"statement_emails": "finance@demo.example, not-an-address"},
            "statement_emails",
            "“not-an-address” is not an e-mail address.",
        ),
        ({"notice_emails": "ops@demo"}, "notice_emails", "“ops@demo” is not an e-mail address."),
        ({"service_fee": "1e100"}, "service_fee", "Enter the amount as a number"),
        ({"service_fee": "99999999999999999999.99"}, "service_fee", "That amount is too large"),
        ({"service_fee": "1.005"}, "service_fee", "with at most two decimals"),
        ({"service_fee": "-1"}, "service_fee", "cannot be negative"),
        ({"name": "  "}, "name", "This field is required."),
    ],
)
def test_account_changes_are_refused_under_their_field(client, auth, world, db, changes, field, message):
    auth.login(world.admin)
    data = {"name": "Changed", "service_fee": "15.00", "statement_emails": "", "notice_emails": ""}
    response = client.post(f"/admin/accounts/{world.demo.id}", data=dict(data, **changes))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert f'id="{field}-error"' in page and message in page
    db.session.expire_all()
    assert world.demo.name == "DEMO Travel" and str(world.demo.service_fee) == "15.00"
    assert _events(db, "account_changed") == []


def test_the_production_entry_point_warns_when_mail_has_no_public_url(monkeypatch, tmp_path, caplog):
    import importlib
    import sys

    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("PORTAL_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("PORTAL_UPLOAD_DIR", str(tmp_path))
    monkeypatch.setenv("PORTAL_SMTP_HOST", "smtp.example.com")
    for public_url, warned in (("", True), ("https://portal.example.com", False)):
        monkeypatch.setenv("PORTAL_PUBLIC_URL", public_url)
        sys.modules.pop("wsgi", None)
        caplog.clear()
        with caplog.at_level("WARNING"):
            module = importlib.import_module("wsgi")
        assert ("PORTAL_PUBLIC_URL is not" in caplog.text) is warned
        with module.app.app_context():
            _db.engine.dispose()
    sys.modules.pop("wsgi", None)
