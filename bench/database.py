"""Where the benchmark's database lives: a SQLite file under bench-results/, or a database of its own
on a PostgreSQL server (created for the run and dropped at the end)."""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from bench.machine import is_postgres
from portal.models import Booking

KEPT_PG_NAME = "portal_bench_kept"  # --keep on PostgreSQL: a fixed name, so the next run can find it


class Target:
    """One benchmark database: its URL, how to empty it, and what to do at the end of the run."""

    def __init__(self, url: URL, description: str):
        self.url = url
        self.description = description

    @property
    def url_string(self) -> str:
        return self.url.render_as_string(hide_password=False)

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    def reset(self) -> None:
        """Make the database exist and be empty."""
        raise NotImplementedError

    def finish(self) -> None:
        """Called once at the end of the run, also after an error."""

    def server_pids(self) -> list[int]:
        """Local processes serving the benchmark database's connections (none for SQLite)."""
        return []

    def booking_count(self) -> int | None:
        """Bookings in the database, or None when it has no schema yet."""
        engine = create_engine(self.url)
        try:
            with engine.connect() as conn:
                if not inspect(conn).has_table("booking"):
                    return None
                return conn.scalar(select(func.count()).select_from(Booking.__table__))
        finally:
            engine.dispose()


class SQLiteTarget(Target):
    def __init__(self, path: Path, may_delete: bool):
        super().__init__(make_url(f"sqlite:///{path}"), f"SQLite {path}")
        self.path = path
        self.may_delete = may_delete

    def booking_count(self) -> int | None:
        return super().booking_count() if self.path.exists() else None

    def reset(self) -> None:
        if self.path.exists() and not self.may_delete:
            raise SystemExit(
                f"{self.path} exists and is not under bench-results/: refusing to overwrite it "
                "(pass --keep to benchmark it as it is)."
            )
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)


class PostgresTarget(Target):
    """A database of the benchmark's own on the server the given URL points at."""

    def __init__(self, server_url: URL, keep: bool, suffix: str = ""):
        self.keep = keep
        self.name = KEPT_PG_NAME + suffix if keep else f"portal_bench_{secrets.token_hex(4)}"
        self.admin_url = server_url
        self.created = False
        self._monitor = None
        super().__init__(server_url.set(database=self.name), f"PostgreSQL {self.name}")

    def _admin(self):
        """An autocommit engine on the server: the URL's own database, else the `postgres` database."""
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            engine.connect().close()
        except OperationalError:
            engine.dispose()
            if self.admin_url.database == "postgres":
                raise
            self.admin_url = self.admin_url.set(database="postgres")
            engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        return engine

    def server_version(self) -> str:
        engine = self._admin()
        try:
            with engine.connect() as conn:
                return conn.scalar(text("SHOW server_version"))
        finally:
            engine.dispose()

    def _exists(self, conn) -> bool:
        return bool(conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": self.name}))

    def server_pids(self) -> list[int]:
        if self._monitor is None:
            self._monitor = self._admin()
        with self._monitor.connect() as conn:
            pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"), {"n": self.name})
            return [pid for pid in pids if is_postgres(pid)]

    def booking_count(self) -> int | None:
        engine = self._admin()
        try:
            with engine.connect() as conn:
                if not self._exists(conn):
                    return None
        finally:
            engine.dispose()
        return super().booking_count()

    def reset(self) -> None:
        engine = self._admin()
        try:
            with engine.connect() as conn:
                # Our own generated name ([a-z0-9_]), so quoting it is enough.
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                conn.exec_driver_sql(f'CREATE DATABASE "{self.name}"')
                self.created = True
        finally:
            engine.dispose()

    def finish(self) -> None:
        if self._monitor is not None:
            self._monitor.dispose()
        if self.keep or not self.created:
            return
        engine = self._admin()
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            engine.dispose()


def target_for(database_url: str | None, keep: bool, results_dir: Path, suffix: str = "") -> Target:
    """The benchmark database for --database-url (None: the default SQLite file). `suffix` names one of
    several sizes (--sizes): its own SQLite file, or its own kept PostgreSQL database."""
    if not database_url:
        return SQLiteTarget(results_dir / f"bench{suffix}.sqlite3", may_delete=True)
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise SystemExit("--database-url: a SQLite benchmark needs a file (gunicorn's workers share it).")
        path = Path(url.database).resolve()
        return SQLiteTarget(path, may_delete=results_dir.resolve() in path.parents)
    if backend == "postgresql":
        # The URL names a server (and a database to connect to for CREATE/DROP DATABASE).
        return PostgresTarget(url, keep, suffix)
    raise SystemExit(f"--database-url: unsupported database {backend!r} (SQLite or PostgreSQL).")
