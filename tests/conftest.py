"""Fixtures: app, client, db cleaning, factories and an auth helper.

PORTAL_TEST_DB=postgres runs everything against a fresh PostgreSQL database made for this run
(PORTAL_TEST_POSTGRES_URL); where none is reachable, database tests are skipped with a message.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import secrets
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event, make_url, text

from portal import clock as portal_clock
from portal import create_app
from portal.extensions import db as _db

PASSWORD = "correct horse battery"
TIMEZONE = "Asia/Singapore"  # the tests' PORTAL_TIMEZONE
POSTGRES = os.environ.get("PORTAL_TEST_DB") == "postgres"


def _postgres_database():
    """Create a fresh database for this run; returns (url, drop) or (None, reason)."""
    import psycopg

    base = make_url(
        os.environ.get("PORTAL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    )
    name = f"portal_test_{uuid.uuid4().hex[:10]}"
    conninfo = base.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        return None, f"PostgreSQL not reachable at {base.render_as_string()}: {exc}".strip()

    def drop():
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return base.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    if not POSTGRES:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"
        return
    url, drop = _postgres_database()
    if url is None:
        pytest.skip(drop)
    yield url
    drop()


class FreshContextClient(FlaskClient):
    """Each request gets its own app context (and so its own `g` and session), as in production.

    Without this, a request made while a test holds an app context reuses that context, and
    Flask-Login's cached user in `g` would leak from one client to the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_test_app(database_url, tmp_path_factory, **overrides):
    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": secrets.token_hex(16),
        "WTF_CSRF_ENABLED": False,
        "ARGON2_PROFILE": "fast-for-tests",
        "UPLOAD_DIR": str(tmp_path_factory.mktemp("uploads")),
        "OPERATOR_NAME": "Atlas",
        "TIMEZONE": TIMEZONE,
        # Webhook tests deliver to a receiver on 127.0.0.1 (tests/web/test_webhooks.py turns it off to see
        # the refusal).
        "ALLOW_HTTP_WEBHOOKS": True,
    }
    config.update(overrides)
    # Tests never touch the developer's instance/ (demo logins, secret key, database).
    app = create_app(config, instance_path=str(tmp_path_factory.mktemp("instance")))
    app.test_client_class = FreshContextClient
    return app


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = make_test_app(database_url, tmp_path_factory)
    with app.app_context():
        # The schema straight from the models; tests/integration/test_migrations.py proves the
        # migrations build the same schema.
        from portal.services.setup import seed_defaults

        _db.create_all()
        seed_defaults()
        _db.session.commit()
        _db.session.remove()
    yield app
    dispose(app)


def dispose(app):
    """Close an app's pooled connections (PostgreSQL warns about connections left open)."""
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def another_app(database_url, tmp_path_factory, db):
    """Build more app instances on the same database, as more worker processes would be."""
    apps = []

    def build(**overrides):
        apps.append(make_test_app(database_url, tmp_path_factory, **overrides))
        return apps[-1]

    yield build
    for extra in apps:
        dispose(extra)


def clean_database(app):
    with app.app_context():
        _db.session.remove()
        with _db.engine.begin() as conn:
            for table in reversed(_db.metadata.sorted_tables):
                conn.execute(table.delete())
        # Back to the state init-db leaves: the seeded defaults.
        from portal.services.setup import seed_defaults

        seed_defaults()
        _db.session.commit()
        _db.session.remove()


@pytest.fixture
def db(app):
    """The database, emptied after the test; the test runs inside an app context."""
    with app.app_context():
        yield _db
        _db.session.remove()
    clean_database(app)


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class QueryCounter:
    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(db):
    return lambda: QueryCounter(db.engine)


# --- factories ---------------------------------------------------------------------------------

SGT = timezone(timedelta(hours=8))


def booking_doc(
    order_number="AT10000001",
    account="DEMO",
    currency="SGD",
    airline="SQ",
    passengers=None,
    segments=None,
    payment_channel="deposit",
    status="ticketed",
    departure=None,
    **extra,
) -> dict:
    """One booking in import format; defaults give a refundable two-segment round trip for one adult."""
    departure = departure or portal_clock.utcnow() + timedelta(days=30)
    dep = departure.astimezone(SGT)
    if segments is None:
        segments = [
            {
                "ref": "S1",
                "flight_number": f"{airline}978",
                "origin": "SIN",
                "destination": "BKK",
                "departure": dep.isoformat(),
                "arrival": (dep + timedelta(hours=2, minutes=30)).isoformat(),
                "cabin": "Y",
                "status": "confirmed",
            },
            {
                "ref": "S2",
                "flight_number": f"{airline}979",
                "origin": "BKK",
                "destination": "SIN",
                "departure": (dep + timedelta(days=7)).isoformat(),
                "arrival": (dep + timedelta(days=7, hours=2, minutes=30)).isoformat(),
                "cabin": "Y",
                "status": "confirmed",
            },
        ]
    if passengers is None:
        passengers = [passenger_doc("P1", "TAN", "WEI MING", default_ticket(order_number))]
    doc = {
        "order_number": order_number,
        "account": account,
        "pnr": "K3X9QZ",
        "airline": airline,
        "payment_channel": payment_channel,
        "currency": currency,
        "status": status,
        "issued_at": (portal_clock.utcnow() - timedelta(days=3)).astimezone(SGT).isoformat(),
        "contact": {"email": "bookings@demo-travel.example", "phone": "+65 6123 4567"},
        "passengers": passengers,
        "segments": segments,
        "ancillaries": [],
    }
    doc.update(extra)
    return doc


def default_ticket(order_number: str) -> str:
    """The default passenger's ticket number: 618-2400000001 on the world's AT10000001, a number of
    its own on any other order (an import refuses a ticket number another booking holds)."""
    if order_number == "AT10000001":
        return "618-2400000001"
    digits = int(hashlib.sha256(order_number.encode()).hexdigest(), 16) % 10**8
    return f"618-25{digits:08d}"


def passenger_doc(
    ref="P1",
    last="TAN",
    first="WEI MING",
    ticket="618-2400000001",
    ptype="ADT",
    base="420.00",
    taxes="85.50",
    refundable_taxes="60.00",
    refundable=True,
    cancellation_fee="150.00",
) -> dict:
    return {
        "ref": ref,
        "type": ptype,
        "title": "MR",
        "first_name": first,
        "last_name": last,
        "ticket_number": ticket,
        "fare": {"base": base, "taxes": taxes, "refundable_taxes": refundable_taxes},
        "fare_rule": {
            "refundable": refundable,
            "cancellation_fee": cancellation_fee,
            "changeable": True,
            "change_fee": "80.00",
        },
    }


AIRLINES = [
    {
        "code": "SQ",
        "name": "Singapore Airlines",
        "type": "FSC",
        "manage_booking_url": "https://www.singaporeair.com/manage-booking",
        "baggage_options": [
            {
                "code": "XBAG10",
                "description": "Extra 10 kg",
                "weight_kg": 10,
                "price": "95.00",
                "currency": "SGD",
            }
        ],
    },
    {
        "code": "TR",
        "name": "Scoot",
        "type": "LCC",
        "manage_booking_url": "https://www.flyscoot.com/manage",
        "baggage_options": [
            {
                "code": "BG20",
                "description": "Checked bag 20 kg",
                "weight_kg": 20,
                "price": "38.00",
                "currency": "SGD",
            }
        ],
    },
]


class Factory:
    """Builds accounts, users and bookings through the same services the product uses."""

    def __init__(self, db):
        self.db = db

    def account(self, code="DEMO", currency="SGD", name=None, service_fee=0):
        from portal.services.auth import create_account

        account = create_account(code, name or f"{code} Travel", currency, service_fee=service_fee)
        self.db.session.commit()
        return account

    def user(self, role="agent", account=None, email=None, name="Test User", password=PASSWORD):
        from portal.services.auth import create_user

        email = email or f"{role}-{uuid.uuid4().hex[:8]}@example.com"
        user = create_user(email, name, role, password, account.code if account is not None else None)
        self.db.session.commit()
        return user

    def import_bookings(self, *bookings, airlines=None):
        from portal.services.bookings import import_bookings

        doc = {
            "format": "portal-bookings/1",
            "airlines": copy.deepcopy(AIRLINES if airlines is None else airlines),
            "bookings": list(bookings),
        }
        result = import_bookings(json.dumps(doc))
        self.db.session.commit()
        return result

    def refund(
        self,
        booking,
        user,
        status=None,
        path="instant_quote",
        passengers=None,
        coupons=None,
        now=None,
        by=None,
        **create,
    ):
        """A refund made by `user` through the one function that creates refunds
        (`services.refunds.create_refund`), then moved to `status` through `apply_action`, as the
        operations queue would (by `by`, default `user`), everything at `now` (default: the portal's clock).

        status: requested | submitted | received | refunded | rejected; default the path's first status
        (operator paths start requested, the agent paths submitted). passengers: refs whose every segment
        is refunded (default: the booking's first passenger); coupons: exact "P1.S2" keys instead.
        Other keywords go to create_refund (reason, proof, involuntary, ...).
        """
        from portal.domain.refunds import RefundPath, RefundStatus, first_status
        from portal.services.refunds import apply_action, create_refund, parse_coupon_keys

        path = RefundPath(path)
        start = first_status(path)
        status = RefundStatus(status or start)
        steps = [  # (from, action, data) along the way to refunded
            (RefundStatus.REQUESTED, "mark_submitted_to_airline", {"reference": "AIR-1"}),
            (
                RefundStatus.SUBMITTED,
                "record_airline_refund",
                {"amount": "300.00", "refunded_on": portal_today(now), "reference": "PAY-1"},
            ),
            (RefundStatus.RECEIVED, "credit_balance", {}),
        ]
        order = [before for before, _, _ in steps] + [RefundStatus.REFUNDED]
        if status is not RefundStatus.REJECTED and order.index(status) < order.index(start):
            raise ValueError(f"a {path} refund starts {start}; it is never {status}")
        if coupons is None:
            refs = passengers or [booking.passengers[0].ref]
            coupons = [f"{ref}.{segment.ref}" for ref in refs for segment in booking.segments]
        refund = create_refund(
            booking, parse_coupon_keys(booking, list(coupons)), path=path, user=user, now=now, **create
        )
        if status is RefundStatus.REJECTED:
            apply_action(refund, "reject", user=by or user, now=now, reason="Rejected by the airline.")
        for before, action, data in steps:
            if refund.status == status:
                break
            if refund.status == before:
                apply_action(refund, action, user=by or user, now=now, **data)
        assert refund.status == status
        self.db.session.commit()
        return refund

    def booking(self, **kwargs):
        from sqlalchemy import select

        from portal.models import Booking

        doc = booking_doc(**kwargs)
        self.import_bookings(doc)
        return self.db.session.scalar(select(Booking).where(Booking.order_number == doc["order_number"]))


@pytest.fixture
def make(db):
    return Factory(db)


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, user, password=PASSWORD):
        response = self.client.post("/login", data={"email": user.email, "password": password})
        assert response.status_code == 303, response.get_data(as_text=True)
        return response

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def world(make):
    """Two client accounts with a booking and an agent each, plus operations and admin users."""

    class World:
        pass

    w = World()
    w.demo = make.account("DEMO", "SGD", service_fee=15)
    w.other = make.account("OTHER", "SGD")
    w.agent = make.user("agent", w.demo, email="agent@demo.example")
    w.other_agent = make.user("agent", w.other, email="agent@other.example")
    w.ops = make.user("operations", email="ops@host.example")
    w.admin = make.user("admin", email="admin@host.example")
    w.agency_admin = make.user("agency_admin", w.demo, email="boss@demo.example", name="Demo Boss")
    w.booking = make.booking(order_number="AT10000001", account="DEMO")
    w.other_booking = make.booking(
        order_number="OT20000001",
        account="OTHER",
        passengers=[passenger_doc("P1", "LIM", "HUI LING", "618-2400009999")],
    )
    return w


def pytest_report_header(config):
    return f"database: {'PostgreSQL (fresh database per run)' if POSTGRES else 'SQLite (file per run)'}"


@pytest.fixture
def pg_only():
    if not POSTGRES:
        pytest.skip("PostgreSQL-only test")


def make_refund(db, booking, user, **kwargs):
    """`Factory.refund` for tests that hold `db` rather than `make`."""
    return Factory(db).refund(booking, user, **kwargs)


class Clock:
    """The portal's clock (portal.clock), frozen for a test and moved by hand."""

    def __init__(self, moment: datetime):
        self._frozen = ExitStack()
        self.set(moment)

    def set(self, moment: datetime) -> datetime:
        """Stop the clock at `moment` (aware)."""
        self._frozen.close()
        self.now = self._frozen.enter_context(portal_clock.frozen(moment))
        return self.now

    def advance(self, **delta) -> datetime:
        """Move the clock on by timedelta(**delta), e.g. advance(hours=4)."""
        return self.set(self.now + timedelta(**delta))

    def today(self):
        """The date where the portal's users are, at the clock's now."""
        return portal_today(self.now)

    def stop(self):
        self._frozen.close()


# A Monday, 10:00 in Singapore: away from midnight in both UTC and the portal's zone.
FROZEN_AT = datetime(2026, 6, 15, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock():
    """The portal's clock frozen at FROZEN_AT; `clock.set(moment)` / `clock.advance(hours=4)` move it.

    Ask for it before `world` or `make` so the objects they create are made at the frozen time.
    """
    frozen = Clock(FROZEN_AT)
    yield frozen
    frozen.stop()


def portal_today(now: datetime | None = None):
    """Today where the portal's users are (the tests' PORTAL_TIMEZONE), which is not always UTC's today."""
    return portal_clock.today_in(TIMEZONE, now)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def run_sql(db, sql):
    with db.engine.begin() as conn:
        return conn.execute(text(sql))


# --- post-booking changes (issue 7) ------------------------------------------------------------------


def rescheduled(doc: dict, segment: int = 0, hours: float = 2) -> dict:
    """A copy of a booking document in which the airline moved one segment by `hours`."""
    changed = copy.deepcopy(doc)
    for field in ("departure", "arrival"):
        moment = datetime.fromisoformat(changed["segments"][segment][field]) + timedelta(hours=hours)
        changed["segments"][segment][field] = moment.isoformat()
    return changed


def cancelled_by_airline(doc: dict, segment: int = 0) -> dict:
    """A copy of a booking document in which the airline cancelled one segment."""
    changed = copy.deepcopy(doc)
    changed["segments"][segment]["status"] = "cancelled"
    return changed


def order_baggage(db, booking, user, passenger="P1", segment="S1", option_code="XBAG10"):
    """A requested baggage order made through the service, committed."""
    from sqlalchemy import select

    from portal.models import BaggageOption
    from portal.services.baggage import create_baggage_order

    option = db.session.scalar(
        select(BaggageOption).where(
            BaggageOption.airline_id == booking.airline_id, BaggageOption.code == option_code
        )
    )
    order = create_baggage_order(
        booking, passenger_ref=passenger, segment_ref=segment, option_id=option.id, user=user
    )
    db.session.commit()
    return order


# --- finance factories (Finance → Refunds batches, ledger) --------------------------------------------


def batch_csv(*rows) -> bytes:
    """A filled refund template as CSV: each row an order number or a (order, passengers, note) tuple."""
    lines = ["Order number,Passengers (optional),Note (optional)"]
    for row in rows:
        cells = (row,) if isinstance(row, str) else tuple(row)
        cells = cells + ("",) * (3 - len(cells))
        lines.append(",".join(f'"{c}"' if ("," in c or ";" in c) else c for c in cells))
    return ("\r\n".join(lines) + "\r\n").encode()


def make_refund_batch(db, user, *rows, filename="refunds.csv", now=None):
    """Upload a batch through the service, as Initiate a Refund does, and commit it."""
    from portal.services.batch import process_upload

    result = process_upload(filename, batch_csv(*rows), user=user, now=now)
    db.session.commit()
    return result.batch


def credit_refund(db, refund, user, amount="300.00", now=None):
    """Move a refund through the queue to `refunded` (submitted, airline refund recorded, credited)."""
    from portal.services.refunds import apply_action

    if refund.status == "requested":
        apply_action(refund, "mark_submitted_to_airline", user=user, now=now, reference="AIR-1")
    if refund.status == "submitted":
        apply_action(
            refund,
            "record_airline_refund",
            user=user,
            now=now,
            amount=amount,
            refunded_on=portal_today(now),
            reference="PAY-1",
        )
    apply_action(refund, "credit_balance", user=user, now=now)
    db.session.commit()
    return refund


# --- service requests (issue 4) -----------------------------------------------------------------------


def request_category(db, code="cancel_refund"):
    """A seeded request category by code."""
    from sqlalchemy import select

    from portal.models import RequestCategory

    return db.session.scalar(select(RequestCategory).where(RequestCategory.code == code))


def raise_service_request(
    db, booking, user, category="cancel_refund", description="Please cancel and refund.", passengers=("P1",)
):
    """A request raised through the service, committed."""
    from portal.services.requests import create_request

    req = create_request(
        booking,
        request_category(db, category),
        user=user,
        description=description,
        passenger_refs=list(passengers),
    )
    db.session.commit()
    return req


def quote_service_request(db, req, ops, amounts=None, valid_until=None):
    """Operations post a quote on a Cancel & Refund request (default: 300.00 per passenger), committed."""
    from portal.services.requests import post_quote, quoted_passengers

    amounts = amounts or {p.ref: "300.00" for p in quoted_passengers(req)}
    quote = post_quote(
        req, user=ops, amounts=amounts, valid_until=valid_until or portal_today() + timedelta(days=7)
    )
    db.session.commit()
    return quote


# --- e-mail (issue 12: password reset links) -----------------------------------------------------------


class Inbox:
    """What a real SMTP server on 127.0.0.1 received, as parsed messages."""

    def __init__(self):
        self.messages = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted for delivery"

    def links(self, index: int = -1) -> list[str]:
        """The links in the text of one message (the last by default)."""
        import re

        return re.findall(r"https?://\S+", self.messages[index].get_content())


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) listening on a free port of 127.0.0.1 for the test."""
    import socket

    from aiosmtpd.controller import Controller

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        inbox.port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def mail_app(another_app, smtp_server):
    """Another app on the test database whose outbox sends through `smtp_server` (plain SMTP, no TLS)."""

    def build(**overrides):
        return another_app(
            SMTP_HOST="127.0.0.1", SMTP_PORT=smtp_server.port, SMTP_STARTTLS=False, **overrides
        )

    return build
