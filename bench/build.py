"""Build (or reuse) the benchmark database: the product's migrations, the bulk fill, two users."""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import func, literal, select

from bench.data import AGENT_ACCOUNT, fill
from bench.database import Target
from portal import create_app
from portal.cli import init_db
from portal.clock import utcnow
from portal.extensions import db
from portal.models import (
    Account,
    Ancillary,
    Booking,
    BookingSearchKey,
    Passenger,
    Refund,
    ScheduleChange,
    Segment,
    User,
)
from portal.services.api_keys import create_api_key
from portal.services.auth import create_user, hash_password
from portal.services.bookings import booking_search_keys
from portal.services.search import keys_changed

AGENT_EMAIL = "agent@bench.example"
OPERATIONS_EMAIL = "ops@bench.example"
DETAIL_PAGES = 50  # order numbers Booking Details rotates over
REFUND_ORDERS = 4000  # bookings the API quote + refund row may refund (one each)


@dataclass
class BuildReport:
    reused: bool
    bookings: int
    seconds: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)
    order_numbers: list[str] = field(default_factory=list)
    api_key: str = ""
    refund_orders: list[str] = field(default_factory=list)  # refundable, unrefunded: the API refund row


def _ensure_user(email: str, name: str, role: str, password: str, account_code: str | None) -> None:
    """Create the user, or give an existing one (a kept database) this run's password."""
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        create_user(email, name, role, password, account_code)
    else:
        user.password_hash = hash_password(password)
        user.active = True


def analyze_filled_tables() -> None:
    """What autovacuum would soon do on a real server: planner statistics for the tables the build filled.

    Only those: autovacuum never analyzes an empty table, and one analyzed while empty tells the planner
    it *is* empty (`reltuples` 0, where a table never analyzed is assumed to hold some pages). The
    refunds that the API row then writes were read by plans made for empty tables (a nested loop of two
    sequential scans, cost 0), which made every booking GET over the API slower round after round until
    autovacuum's next visit: 0.24x, 0.13x, 0.08x of /healthz in one run (issue 14, session 7)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        quote = conn.dialect.identifier_preparer.quote
        for table in db.metadata.sorted_tables:
            if conn.scalar(select(literal(1)).select_from(table).limit(1)) is not None:
                conn.exec_driver_sql(f"VACUUM ANALYZE {quote(table.name)}")


def _verify_search_keys(order_numbers: list[str]) -> None:
    """The keys written by the bulk fill are exactly the ones the product computes for the booking."""
    for number in order_numbers:
        booking = db.session.scalar(select(Booking).where(Booking.order_number == number))
        stored = set(
            db.session.scalars(select(BookingSearchKey.key).where(BookingSearchKey.booking_id == booking.id))
        )
        expected = booking_search_keys(booking)
        if stored != expected:
            raise SystemExit(
                f"search keys of {number} differ from booking_search_keys(): {stored} != {expected}"
            )


def build(target: Target, bookings: int, *, keep: bool, password: str, seed: int, log=print) -> BuildReport:
    started = time.perf_counter()
    mark = started
    report = BuildReport(reused=False, bookings=bookings)

    def step(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        report.steps[name] = round(now - mark, 2)
        mark = now

    existing = target.booking_count() if keep else None
    report.reused = keep and existing == bookings
    if report.reused:
        log(f"Reusing {target.description}: {existing:,} bookings.")
    else:
        if keep and existing is not None:
            log(f"{target.description} has {existing:,} bookings, not {bookings:,}: rebuilding it.")
        log(f"Building {target.description} with {bookings:,} bookings ...")
        target.reset()
    step("prepare")

    os.environ["PORTAL_DATABASE_URL"] = target.url_string
    app = create_app({"SQLALCHEMY_DATABASE_URI": target.url_string})
    with app.app_context():
        try:
            init_db()  # the product's migrations; on a kept database, any new ones
            step("schema")
            if not report.reused:
                if db.session.scalar(select(func.count()).select_from(Booking)):
                    raise SystemExit(f"{target.description} is not empty after reset.")
                with db.engine.begin() as conn:
                    if target.dialect == "sqlite":
                        conn.exec_driver_sql("PRAGMA cache_size = -262144")  # 256 MB for the index builds
                    fill(conn, bookings, seed=seed)
                step("fill")
                if target.dialect == "postgresql":
                    analyze_filled_tables()
                    step("analyze")

            # What an import leaves with the keys it writes (the rows above bypass it): their version, and
            # the most keys a rare term has for this many bookings. On a kept database too, whose schema
            # may be newer than its rows.
            keys_changed()
            db.session.commit()
            _ensure_user(AGENT_EMAIL, "Bench Agent", "agent", password, AGENT_ACCOUNT)
            _ensure_user(OPERATIONS_EMAIL, "Bench Operations", "operations", password, None)
            agent = db.session.scalar(select(User).where(User.email == AGENT_EMAIL))
            _, report.api_key = create_api_key(agent, "Bench", by=agent)  # this run's key for the API rows
            db.session.commit()
            step("users")

            for model in (Booking, Passenger, Segment, BookingSearchKey, Ancillary, ScheduleChange):
                report.rows[model.__tablename__] = db.session.scalar(select(func.count()).select_from(model))
            account_id = db.session.scalar(select(Account.id).where(Account.code == AGENT_ACCOUNT))
            numbers = db.session.scalars(
                select(Booking.order_number).where(Booking.account_id == account_id).order_by(Booking.id)
            ).all()
            report.order_numbers = random.Random(seed).sample(list(numbers), min(DETAIL_PAGES, len(numbers)))
            _verify_search_keys(report.order_numbers[:20])
            unrefunded = ~select(Refund.id).where(Refund.booking_id == Booking.id).exists()
            refundable = (
                select(Passenger.id)
                .where(
                    Passenger.booking_id == Booking.id, Passenger.ref == "P1", Passenger.refundable.is_(True)
                )
                .exists()
            )
            report.refund_orders = list(
                db.session.scalars(
                    select(Booking.order_number)
                    .where(
                        Booking.account_id == account_id,
                        Booking.status == "ticketed",  # a cancelled booking is refused (422)
                        Booking.first_departure_date > utcnow().date() + timedelta(days=2),
                        unrefunded,
                        refundable,
                    )
                    .order_by(Booking.id)
                    .limit(REFUND_ORDERS)
                )
            )
            db.session.rollback()
            step("check")
        finally:
            db.session.remove()
            db.engine.dispose()
    report.seconds = round(time.perf_counter() - started, 2)
    return report
