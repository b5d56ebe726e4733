"""The pool tests a server connection only after it sat unused (extensions.PING_AFTER_IDLE_SECONDS): a
connection the server closed meanwhile is replaced, not handed to a request that would fail on it."""

import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from portal import extensions


def _backend_pid(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()


def _close_behind_the_pools_back(database_url: str, pid: int) -> None:
    killer = create_engine(database_url)
    try:
        with killer.connect() as conn:
            assert conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})").scalar()
    finally:
        killer.dispose()


@pytest.fixture
def server_engine(pg_only, database_url):
    engine = create_engine(database_url, pool_size=1, max_overflow=0)
    yield engine
    engine.dispose()


def test_a_connection_closed_while_idle_is_replaced_before_use(server_engine, database_url, monkeypatch):
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", 0.0)
    first = _backend_pid(server_engine)
    _close_behind_the_pools_back(database_url, first)
    # The pool's one connection is dead; the checkout's ping finds out and the pool connects anew.
    assert _backend_pid(server_engine) != first


def test_a_connection_in_steady_use_is_not_pinged(server_engine, database_url, monkeypatch):
    # The trade-off of not pinging on every checkout: a connection used a moment ago is trusted, so a
    # server restart fails the request holding it once; the pool has connected anew for the next one.
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", 3600.0)
    first = _backend_pid(server_engine)
    _close_behind_the_pools_back(database_url, first)
    with pytest.raises(OperationalError):
        _backend_pid(server_engine)
    assert _backend_pid(server_engine) != first


def test_a_pinged_connection_reaches_its_user_outside_a_transaction(server_engine, monkeypatch):
    monkeypatch.setattr(extensions, "PING_AFTER_IDLE_SECONDS", 0.0)
    _backend_pid(server_engine)
    with server_engine.connect() as conn:  # pinged on checkout
        assert conn.connection.dbapi_connection.info.transaction_status.name == "IDLE"
    # So its isolation level can still be chosen (the bench's VACUUM ANALYZE does).
    with server_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1
