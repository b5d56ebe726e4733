"""Login, logout, session rotation and invalidation, throttling across processes."""

from tests.conftest import PASSWORD


def test_login_with_right_password_lands_on_home(client, world):
    response = client.post("/login", data={"email": "AGENT@demo.example ", "password": PASSWORD})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/home")
    assert "Quotes to answer" in client.get("/home").get_data(as_text=True)


def test_wrong_password_is_refused_with_a_message(client, world):
    response = client.post("/login", data={"email": world.agent.email, "password": "wrong password"})
    assert response.status_code == 422
    assert "Email or password is not correct" in response.get_data(as_text=True)
    assert client.get("/bookings/").status_code == 302


def test_login_does_not_follow_offsite_next(client, world):
    response = client.post(
        "/login?next=https://evil.example/x", data={"email": world.agent.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/home"
    client.post("/logout")
    response = client.post(
        "/login?next=//evil.example", data={"email": world.agent.email, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/home"


def test_session_is_rotated_at_login(client, world):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    client.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_ends_sessions_in_other_browsers(app, client, auth, world):
    other_browser = app.test_client()
    auth.login(world.agent)
    other_browser.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    assert other_browser.get("/bookings/").status_code == 200
    auth.logout()
    assert client.get("/bookings/").status_code == 302
    assert other_browser.get("/bookings/").status_code == 302


def test_disabling_a_user_ends_their_session(app, client, auth, world):
    agent_browser = app.test_client()
    agent_browser.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    assert agent_browser.get("/bookings/").status_code == 200
    auth.login(world.admin)
    response = client.post(f"/admin/users/{world.agent.id}/disable")
    assert response.status_code == 303
    assert agent_browser.get("/bookings/").status_code == 302
    relogin = agent_browser.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    assert relogin.status_code == 422


def test_disabling_an_account_ends_its_agents_sessions(app, client, auth, world):
    agent_browser = app.test_client()
    agent_browser.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    auth.login(world.admin)
    client.post(f"/admin/accounts/{world.demo.id}/disable")
    assert agent_browser.get("/bookings/").status_code == 302


def test_admin_cannot_disable_themselves(client, auth, world):
    auth.login(world.admin)
    client.post(f"/admin/users/{world.admin.id}/disable", follow_redirects=True)
    assert client.get("/admin/users").status_code == 200


def _fail(client, email, times):
    for _ in range(times):
        client.post("/login", data={"email": email, "password": "not the password"})


def test_five_failures_lock_the_email_even_for_the_right_password(client, world):
    _fail(client, world.agent.email, 5)
    response = client.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    assert response.status_code == 422
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Another user is not affected.
    assert client.post("/login", data={"email": world.ops.email, "password": PASSWORD}).status_code == 303


def test_throttling_holds_across_worker_processes(app, another_app, client, world):
    """Two app instances (as two gunicorn workers) share the attempt log in the database."""
    other_worker = another_app(SECRET_KEY=app.config["SECRET_KEY"])
    _fail(client, world.agent.email, 3)
    _fail(other_worker.test_client(), world.agent.email, 2)
    response = other_worker.test_client().post(
        "/login", data={"email": world.agent.email, "password": PASSWORD}
    )
    assert "Too many failed attempts" in response.get_data(as_text=True)


def test_lock_expires_after_the_window(app, client, clock, world):
    _fail(client, world.agent.email, 5)
    paused = client.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    assert "try again in 15 minutes" in paused.get_data(as_text=True)
    clock.advance(minutes=14)
    paused = client.post("/login", data={"email": world.agent.email, "password": PASSWORD})
    assert "try again in 1 minute," in paused.get_data(as_text=True)
    clock.advance(seconds=61)
    assert client.post("/login", data={"email": world.agent.email, "password": PASSWORD}).status_code == 303


def test_a_success_resets_the_count(client, world):
    _fail(client, world.agent.email, 4)
    assert client.post("/login", data={"email": world.agent.email, "password": PASSWORD}).status_code == 303
    client.post("/logout")
    _fail(client, world.agent.email, 4)
    assert client.post("/login", data={"email": world.agent.email, "password": PASSWORD}).status_code == 303


def test_passwords_are_stored_as_argon2_hashes(world):
    assert world.agent.password_hash.startswith("$argon2id$")
    assert PASSWORD not in world.agent.password_hash


def test_login_refuses_backslash_and_scheme_tricks(client, world):
    for target in ("/\\evil.example", "javascript:alert(1)", "https:/evil.example", "//evil.example/x"):
        client.post("/logout")
        response = client.post(
            f"/login?next={target}", data={"email": world.agent.email, "password": PASSWORD}
        )
        assert response.headers["Location"] == "/home", target
