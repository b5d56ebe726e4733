"""Issue 12, point 9: the login throttle counts atomically, before the password is checked, and an
attacker cannot aim it at someone else's login."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db as _db
from portal.models import LoginCounter
from portal.services import auth as auth_service
from portal.services.auth import AuthError, LoginPaused, authenticate, complete_login
from portal.services.throttle import sweep_counters
from tests.conftest import PASSWORD, POSTGRES

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.7"


@pytest.fixture
def password_checks(monkeypatch):
    """The passwords that reached the password check, from any thread."""
    checked: list[str] = []
    lock = threading.Lock()
    original = auth_service.check_password

    def counting(user, password):
        with lock:
            checked.append(password)
        return original(user, password)

    monkeypatch.setattr(auth_service, "check_password", counting)
    return checked


def _attempt(email, password, ip):
    """One login in its own transaction, as one request would; its outcome in a word."""
    try:
        user = authenticate(email, password, ip)
        complete_login(user, ip)  # what the login does once every step has passed
        _db.session.commit()
        return "in"
    except LoginPaused:
        return "paused"
    except AuthError:
        return "wrong"
    finally:
        _db.session.rollback()


def test_forty_parallel_wrong_passwords_let_only_the_limit_reach_the_password_check(
    app, db, world, password_checks
):
    """40 threads, each with its own app context (so its own session and connection), start together."""
    if not POSTGRES:
        pytest.skip("the parallel run is for PostgreSQL: SQLite serialises every writer anyway")
    limit = app.config["LOGIN_MAX_FAILURES"]
    email = world.admin.email
    start = threading.Barrier(40)
    outcomes: list[str] = []

    def guess(number):
        with app.app_context():
            try:
                start.wait(timeout=30)
                outcomes.append(_attempt(email, f"guess number {number}", ATTACKER))
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 40, outcomes
    assert len(password_checks) == limit, f"{len(password_checks)} of 40 reached the password check"
    assert sorted(set(outcomes)) == ["paused", "wrong"]
    assert outcomes.count("wrong") == limit

    # The owner, from their own address, still logs in: the attacker's address is locked, not the login.
    assert _attempt(email, PASSWORD, OWNER) == "in"


def test_the_right_password_from_a_fresh_address_logs_in_after_an_attackers_failures(db, world):
    for n in range(12):
        _attempt(world.admin.email, f"guess number {n}", ATTACKER)
    assert _attempt(world.admin.email, PASSWORD, ATTACKER) == "paused"  # even the right one, from there
    assert _attempt(world.admin.email, PASSWORD, OWNER) == "in"


def test_the_limit_applies_per_email_and_address(app, db, world, password_checks):
    limit = app.config["LOGIN_MAX_FAILURES"]
    outcomes = [_attempt(world.agent.email, f"guess {n}", ATTACKER) for n in range(limit + 3)]
    assert outcomes == ["wrong"] * limit + ["paused"] * 3
    assert len(password_checks) == limit
    # The same address may still try another e-mail (up to its own, higher limit).
    assert _attempt(world.ops.email, PASSWORD, ATTACKER) == "in"


def test_an_email_has_a_much_higher_ceiling_from_everywhere(app, db, world):
    """A botnet spreading guesses over many addresses meets the e-mail's ceiling; then even the owner is
    paused (with a time to retry and the reset link) until the window passes or they reset."""
    per_pair, ceiling = app.config["LOGIN_MAX_FAILURES"], app.config["LOGIN_MAX_FAILURES_PER_EMAIL"]
    assert ceiling >= 10 * per_pair
    for n in range(ceiling):
        assert _attempt(world.agent.email, "not the password", f"192.0.2.{n // per_pair}") == "wrong"
    assert _attempt(world.agent.email, PASSWORD, OWNER) == "paused"


def test_successful_logins_from_one_address_do_not_count_against_it(app, db, make, world):
    """An office behind one NAT address: many people logging in are not an attack."""
    per_address = app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]
    users = [make.user("agent", world.demo, email=f"agent{n}@office.example") for n in range(per_address + 2)]
    for user in users:
        assert _attempt(user.email, PASSWORD, "192.0.2.200") == "in"


def test_a_success_forgets_the_failures_from_that_address(db, world):
    for _ in range(4):
        assert _attempt(world.agent.email, "not the password", OWNER) == "wrong"
    assert _attempt(world.agent.email, PASSWORD, OWNER) == "in"
    for _ in range(4):
        assert _attempt(world.agent.email, "not the password", OWNER) == "wrong"
    assert _attempt(world.agent.email, PASSWORD, OWNER) == "in"


def test_the_counters_are_committed_even_when_the_login_is_rolled_back(db, world):
    """They are the one write outside the request's unit of work: a refused login rolls back, the count
    stays."""
    _attempt(world.agent.email, "not the password", ATTACKER)
    db.session.rollback()
    keys = dict(db.session.execute(select(LoginCounter.key, LoginCounter.attempts)).all())
    assert keys == {
        f"pair:{world.agent.email} {ATTACKER}": 1,
        f"email:{world.agent.email}": 1,
        f"address:{ATTACKER}": 1,
    }


def test_old_counters_are_swept_by_the_job_runner(app, db, clock, world):
    _attempt(world.agent.email, "not the password", ATTACKER)
    window = timedelta(seconds=app.config["LOGIN_WINDOW_SECONDS"])
    assert sweep_counters(clock.now + window - timedelta(seconds=1)) == 0
    assert sweep_counters(clock.now + window) == 3
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(LoginCounter)) == 0
