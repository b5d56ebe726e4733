"""Flask extensions, created unbound and initialised in create_app()."""

import sqlite3
import time

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import Pool

# Named constraints let Alembic's SQLite batch mode drop and recreate them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


@event.listens_for(Engine, "savepoint")
def _sqlite_savepoint_inside_a_transaction(conn, name):
    """pysqlite opens its transaction only before an INSERT/UPDATE/DELETE, so a SAVEPOINT issued first
    would start SQLite's transaction itself, and its RELEASE would commit it: a savepoint meant to guard
    one insert would commit the whole request early. Open the transaction first, as PostgreSQL does."""
    if conn.dialect.name != "sqlite":
        return
    dbapi_connection = conn.connection.dbapi_connection
    if not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN")


# Every SQLite connection: write-ahead log (readers never wait for the writer, and a commit writes the
# log only), fsync at checkpoints rather than every commit (a power cut may lose the last commits, never
# corrupt the file), wait for a lock up to 5 s instead of failing at once, read the file through mmap,
# and a 32 MB page cache per connection.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA busy_timeout = 5000",
    "PRAGMA mmap_size = 268435456",
    "PRAGMA cache_size = -32768",
)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    for pragma in SQLITE_PRAGMAS:
        dbapi_connection.execute(pragma)


# A pooled connection to a database server is tested before use only when it has sat unused this long:
# the server may have restarted or closed it meanwhile. One in steady use is not pinged (pool_pre_ping
# pinged on every checkout: one more round trip per request). A server restart under steady traffic costs
# the requests that were using the old connections an error each, after which the pool reconnects.
PING_AFTER_IDLE_SECONDS = 30.0


@event.listens_for(Pool, "checkin")
def _note_idle_since(dbapi_connection, connection_record):
    if connection_record is not None:
        connection_record.info["idle_since"] = time.monotonic()


@event.listens_for(Pool, "checkout")
def _ping_after_idle(dbapi_connection, connection_record, connection_proxy):
    if isinstance(dbapi_connection, sqlite3.Connection):
        return  # a file: nothing can close the connection behind our back
    since = connection_record.info.get("idle_since")
    if since is None or time.monotonic() - since < PING_AFTER_IDLE_SECONDS:
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        # The driver opened a transaction for the ping: end it, so the connection reaches its user idle
        # (an isolation level can still be set on it, and the request's transaction starts with its work).
        dbapi_connection.rollback()
    except Exception as exc:
        # The pool throws this connection away and checks out a new one (up to three tries).
        raise DisconnectionError() from exc


def read(statement, params: dict | None = None):
    """Run a Core select of plain columns on the request's session connection (same transaction) and
    return its result. For the lists every page runs, where the ORM's execute (entity loading, events,
    the ORM compile state) costs about 0.1 ms a statement more than the query's own work on SQLite.

    Pending ORM changes are flushed first, as the session's own execute would autoflush them, so the
    rows see this request's writes."""
    session = db.session
    session.flush()
    return session.connection().execute(statement, params or {})
