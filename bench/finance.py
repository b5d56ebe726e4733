"""Finance benchmark: a 10,000-row batch refund in one request, and the Refunds list at 200,000 refunds.

    .venv/bin/python -m bench.finance [--database-url URL] [--refunds 200000] [--batch-rows 10000]

1. Builds a database of its own (SQLite bench-results/finance.sqlite3, rebuilt every run; or a fresh
   PostgreSQL database portal_bench_fin_<random> on the server --database-url names, dropped at the end)
   with the schema from the models, then Core-inserts two agencies, bookings, and --refunds refunds with
   their quote lines, coupons and events.
2. Uploads a CSV of --batch-rows order numbers with Initiate a Refund (one POST through the whole Flask
   stack, in process: parse, decide, bulk insert, commit) and times it; then times a bare Core insert of
   the same rows (refunds, quote lines, coupons, events, batch rows) for another set of bookings in the
   same run, and prints the ratio.
3. Requests Finance → Refunds pages (agent: half the refunds; operations: all of them; search; filters;
   the CSV export) and the operations refund queue (default order, sorted by a column, a deep page), and
   prints each one's query count and median time.
"""

from __future__ import annotations

import argparse
import io
import secrets
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"
CHUNK = 5000
SURNAMES = ["TAN", "LIM", "LEE", "NG", "WONG", "GOH", "CHUA", "ONG", "NAIR", "KUMAR", "SMITH", "DAS"]
FIRSTS = ["WEI MING", "HUI LING", "ARJUN", "SIEW LAN", "JOHN", "MEI", "KAREN", "RAVI", "ANNA", "JUN"]


def _name(booking: int, passenger: int) -> tuple[str, str]:
    """Last and first name of passenger 1 or 2 of a booking."""
    return SURNAMES[(booking + passenger) % len(SURNAMES)], FIRSTS[(booking * 3 + passenger) % len(FIRSTS)]


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.finance", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--database-url",
        help="default: SQLite bench-results/finance.sqlite3; a postgresql+psycopg:// "
        "URL names a server: a database portal_bench_fin_<random> is created on it and dropped",
    )
    p.add_argument("--refunds", type=int, default=200_000, help="refunds in the list (default 200000)")
    p.add_argument(
        "--batch-rows", type=int, default=10_000, help="order numbers in the batch (default 10000)"
    )
    p.add_argument("--repeat", type=int, default=5, help="requests per list measurement (median; default 5)")
    return p.parse_args(argv)


# --- the database -----------------------------------------------------------------------------------------


@contextmanager
def database(url_text: str | None):
    if not url_text:
        path = RESULTS / "finance.sqlite3"
        RESULTS.mkdir(exist_ok=True)
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{path}", f"SQLite {path}"
        return
    url = make_url(url_text)
    if url.get_backend_name() != "postgresql":
        raise SystemExit("--database-url: PostgreSQL only (SQLite is the default)")
    name = f"portal_bench_fin_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False), f"PostgreSQL {name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def insert_chunked(conn, table, rows):
    for start in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[start : start + CHUNK])


def build(app, n_refunds: int, batch_rows: int) -> dict:
    """Two agencies; bookings for the refunds (2 passengers, 2 segments each) plus two fresh sets of
    batch_rows bookings of agency A (for the batch and for the bare insert); the refunds."""
    from portal.extensions import db
    from portal.models import (
        Account,
        Airline,
        Booking,
        BookingSearchKey,
        Passenger,
        Refund,
        RefundCoupon,
        RefundEvent,
        RefundPassenger,
        Segment,
        User,
    )
    from portal.services.auth import create_user

    now = datetime.now(UTC)
    refund_bookings = -(-n_refunds // 2)
    total = refund_bookings + 2 * batch_rows
    with app.app_context():
        db.create_all()
        conn = db.session.connection()
        conn.execute(
            insert(Account.__table__),
            [
                {
                    "id": 1,
                    "code": "BENCH-A",
                    "name": "Bench Travel",
                    "currency": "SGD",
                    "service_fee": Decimal("15"),
                },
                {
                    "id": 2,
                    "code": "BENCH-B",
                    "name": "Bench Holidays",
                    "currency": "SGD",
                    "service_fee": Decimal("0"),
                },
            ],
        )
        conn.execute(
            insert(Airline.__table__),
            [{"id": 1, "code": "SQ", "name": "Singapore Airlines", "carrier_type": "FSC"}],
        )
        db.session.commit()
        password = secrets.token_urlsafe(12)
        agent = create_user("agent@bench.example", "Bench Agent", "agent", password, "BENCH-A")
        ops = create_user("ops@bench.example", "Bench Ops", "operations", password, None)
        db.session.commit()
        agent_id, ops_id = agent.id, ops.id
        conn = db.session.connection()
        depart = now + timedelta(days=60)
        refund_rows, lines, coupons, events = [], [], [], []
        for start in range(1, total + 1, CHUNK):
            bookings, passengers, segments, keys = [], [], [], []
            for b in range(start, min(start + CHUNK, total + 1)):
                # The refunds' bookings alternate between the agencies; both batch sets are agency A's.
                account = (1 if b % 2 else 2) if b <= refund_bookings else 1
                order = f"FB{b:08d}"
                bookings.append(
                    {
                        "id": b,
                        "order_number": order,
                        "account_id": account,
                        "pnr": f"P{b:07d}"[-6:],
                        "airline_id": 1,
                        "payment_channel": "deposit",
                        "currency": "SGD",
                        "status": "ticketed",
                        "issued_at": now - timedelta(days=b % 700),
                        "contact_email": "x@example.com",
                        "contact_phone": "+65 6000 0000",
                        "first_departure_date": depart.date(),
                        # What the import keeps of the segments and passengers below.
                        "route": "SIN–BKK–SIN",
                        "first_departure_at": depart,
                        "first_departure_offset": 480,
                        "lead_passenger": "/".join(_name(b, 1)),
                        "passenger_count": 2,
                    }
                )
                keys.append({"booking_id": b, "account_id": account, "key": order})
                for i in (1, 2):
                    pid = b * 2 - 2 + i
                    last, first = _name(b, i)
                    passengers.append(
                        {
                            "id": pid,
                            "booking_id": b,
                            "ref": f"P{i}",
                            "position": i - 1,
                            "ptype": "ADT",
                            "title": "MR",
                            "first_name": first,
                            "last_name": last,
                            "ticket_number": f"618-{pid:010d}",
                            "base": Decimal("420.00"),
                            "taxes": Decimal("85.50"),
                            "refundable_taxes": Decimal("60.00"),
                            "refundable": True,
                            "cancellation_fee": Decimal("150.00"),
                            "changeable": True,
                            "change_fee": Decimal("80"),
                        }
                    )
                    keys.append({"booking_id": b, "account_id": account, "key": last})
                    keys.append(
                        {"booking_id": b, "account_id": account, "key": (last + first).replace(" ", "")}
                    )
                    segments.append(
                        {
                            "id": pid,
                            "booking_id": b,
                            "ref": f"S{i}",
                            "position": i - 1,
                            "flight_number": f"SQ{970 + i}",
                            "origin": "SIN" if i == 1 else "BKK",
                            "destination": "BKK" if i == 1 else "SIN",
                            "departure_at": depart + timedelta(days=7 * (i - 1)),
                            "departure_offset": 480,
                            "arrival_at": depart + timedelta(days=7 * (i - 1), hours=2),
                            "arrival_offset": 420,
                            "cabin": "Y",
                            "status": "confirmed",
                        }
                    )
            insert_chunked(conn, Booking.__table__, bookings)
            insert_chunked(conn, Passenger.__table__, passengers)
            insert_chunked(conn, Segment.__table__, segments)
            insert_chunked(conn, BookingSearchKey.__table__, keys)
        rid = 0
        for b in range(1, refund_bookings + 1):
            for i in (1, 2):
                rid += 1
                if rid > n_refunds:
                    break
                pid = b * 2 - 2 + i
                created = now - timedelta(minutes=rid * 3)
                refund_rows.append(
                    {
                        "id": rid,
                        "code": f"RF{rid:08d}",
                        "booking_id": b,
                        "account_id": 1 if b % 2 else 2,
                        "path": ("instant_quote", "agent_request", "agent_batch", "refund_claim")[rid % 4],
                        "status": ("requested", "submitted", "received", "refunded", "rejected")[rid % 5],
                        "currency": "SGD",
                        "involuntary": False,
                        "estimated_amount": Decimal("330.00"),
                        "service_fee": Decimal("0.00"),
                        "created_by_id": agent_id,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
                lines.append(
                    {
                        "refund_id": rid,
                        "passenger_id": pid,
                        "quote_case": "exact",
                        "fare": Decimal("420.00"),
                        "cancellation_fee": Decimal("150.00"),
                        "refundable_taxes": Decimal("60.00"),
                        "service_fee": Decimal("0.00"),
                        "amount": Decimal("330.00"),
                    }
                )
                coupons += [
                    {"refund_id": rid, "passenger_id": pid, "segment_id": b * 2 - 2 + s, "live": rid % 5 != 4}
                    for s in (1, 2)
                ]
                events.append(
                    {
                        "refund_id": rid,
                        "actor_id": agent_id,
                        "at": created,
                        "from_status": None,
                        "to_status": "submitted",
                        "note": "bench",
                    }
                )
        insert_chunked(conn, Refund.__table__, refund_rows)
        insert_chunked(conn, RefundPassenger.__table__, lines)
        insert_chunked(conn, RefundCoupon.__table__, coupons)
        insert_chunked(conn, RefundEvent.__table__, events)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            for table in (
                "booking",
                "passenger",
                "segment",
                "refund",
                "refund_passenger",
                "refund_coupon",
                "refund_event",
                "booking_search_key",
            ):
                # Our own table names, not input: moving the sequences past the explicit ids.
                sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"  # noqa: S608
                db.session.execute(text(sql))
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.exec_driver_sql("VACUUM ANALYZE")
        count = db.session.scalar(select(func.count()).select_from(Refund))
        _ = User
    first_batch = refund_bookings + 1
    return {
        "password": password,
        "agent_id": agent_id,
        "ops_id": ops_id,
        "refunds": count,
        "batch_orders": [f"FB{b:08d}" for b in range(first_batch, first_batch + batch_rows)],
        "bare_bookings": list(range(first_batch + batch_rows, first_batch + 2 * batch_rows)),
    }


# --- measuring --------------------------------------------------------------------------------------------


class Counter:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._hit)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._hit)

    def _hit(self, *args):
        self.count += 1


def login(client, email, password):
    response = client.post("/login", data={"email": email, "password": password})
    if response.status_code != 303:
        raise SystemExit(f"login as {email} failed: {response.status_code}")


def bare_insert(app, booking_ids: list[int], agent_id: int) -> float:
    """The batch's rows inserted with nothing else: no file, no reads, no decisions, ids known."""
    from portal.extensions import db
    from portal.models import Refund, RefundBatch, RefundBatchRow, RefundCoupon, RefundEvent, RefundPassenger

    with app.app_context():
        first = (db.session.scalar(select(func.max(Refund.id))) or 0) + 1
        now = datetime.now(UTC)
        refunds, lines, coupons, events, rows = [], [], [], [], []
        for offset, b in enumerate(booking_ids):
            rid = first + offset
            refunds.append(
                {
                    "id": rid,
                    "code": f"RF{rid:08d}",
                    "booking_id": b,
                    "account_id": 1,
                    "path": "agent_batch",
                    "status": "submitted",
                    "currency": "SGD",
                    "involuntary": False,
                    "estimated_amount": Decimal("660.00"),
                    "service_fee": Decimal("0.00"),
                    "created_by_id": agent_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for i in (1, 2):
                pid = b * 2 - 2 + i
                lines.append(
                    {
                        "refund_id": rid,
                        "passenger_id": pid,
                        "quote_case": "exact",
                        "fare": Decimal("420.00"),
                        "cancellation_fee": Decimal("150.00"),
                        "refundable_taxes": Decimal("60.00"),
                        "service_fee": Decimal("0.00"),
                        "amount": Decimal("330.00"),
                    }
                )
                coupons += [
                    {"refund_id": rid, "passenger_id": pid, "segment_id": b * 2 - 2 + s, "live": True}
                    for s in (1, 2)
                ]
            events.append(
                {
                    "refund_id": rid,
                    "actor_id": agent_id,
                    "at": now,
                    "from_status": None,
                    "to_status": "submitted",
                    "note": "bare",
                }
            )
        started = time.perf_counter()
        batch = RefundBatch(
            account_id=1,
            uploaded_by_id=agent_id,
            filename="bare.csv",
            file_format="csv",
            file_sha256="0" * 64,
            row_count=len(booking_ids),
            created_count=len(booking_ids),
            created_at=now,
        )
        db.session.add(batch)
        db.session.flush()
        for offset, b in enumerate(booking_ids):
            rows.append(
                {
                    "batch_id": batch.id,
                    "line": offset + 2,
                    "order_number": f"FB{b:08d}",
                    "passengers": None,
                    "note": None,
                    "outcome": "created",
                    "message": "Refund.",
                    "refund_id": first + offset,
                }
            )
        conn = db.session.connection()
        conn.execute(insert(Refund.__table__), refunds)
        conn.execute(insert(RefundCoupon.__table__), coupons)
        conn.execute(insert(RefundPassenger.__table__), lines)
        conn.execute(insert(RefundEvent.__table__), events)
        conn.execute(insert(RefundBatchRow.__table__), rows)
        db.session.commit()
        return time.perf_counter() - started


def measure(client, engine, url, repeat, headers=None):
    times, counts, size = [], [], 0
    for _ in range(repeat):
        with Counter(engine) as counter:
            started = time.perf_counter()
            response = client.get(url, headers=headers or {})
            data = response.get_data()
            times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url}: HTTP {response.status_code}")
        counts.append(counter.count)
        size = len(data)
    return statistics.median(times), sorted(set(counts)), size


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from portal import create_app
    from portal.extensions import db

    with database(args.database_url) as (url, description):
        instance = RESULTS / "finance-instance"
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": secrets.token_hex(16),
                "WTF_CSRF_ENABLED": False,  # in-process client; CSRF is tested elsewhere
                "SCHEDULER": "off",
            },
            instance_path=str(instance),
        )
        print(f"Database: {description}")
        started = time.perf_counter()
        built = build(app, args.refunds, args.batch_rows)
        print(f"Built {built['refunds']:,} refunds in {time.perf_counter() - started:.1f} s")

        with app.app_context():
            engine = db.engine
        client = app.test_client()
        login(client, "agent@bench.example", built["password"])
        csv_data = ("Order number\r\n" + "\r\n".join(built["batch_orders"]) + "\r\n").encode()
        started = time.perf_counter()
        response = client.post(
            "/finance/refunds/batches",
            data={"file": (io.BytesIO(csv_data), "batch.csv")},
            content_type="multipart/form-data",
        )
        batch_seconds = time.perf_counter() - started
        if response.status_code != 303:
            raise SystemExit(
                f"batch upload: HTTP {response.status_code}: {response.get_data(as_text=True)[:500]}"
            )
        with app.app_context():
            from portal.models import RefundBatch

            batch = db.session.scalars(select(RefundBatch).order_by(RefundBatch.id.desc())).first()
            created = batch.created_count
        bare_seconds = bare_insert(app, built["bare_bookings"], built["agent_id"])
        print()
        print(
            f"Batch of {args.batch_rows:,} order numbers (CSV, one request): {batch_seconds:.2f} s, "
            f"{created:,} refunds created"
        )
        print(f"Bare insert of the same rows:                          {bare_seconds:.2f} s")
        print(f"Ratio batch / bare insert:                             {batch_seconds / bare_seconds:.1f}x")

        ops = app.test_client()
        login(ops, "ops@bench.example", built["password"])
        today = date.today()
        pages = [
            ("agent: All", client, "/finance/refunds", None),
            ("agent: Agent & Passenger Initiated", client, "/finance/refunds/agent", None),
            (
                "agent: search q=TAN (htmx results)",
                client,
                "/finance/refunds?q=TAN",
                {"HX-Request": "true", "HX-Target": "results"},
            ),
            (
                "agent: status + last 30 days",
                client,
                f"/finance/refunds?status=submitted&submitted_from={today - timedelta(days=30)}",
                None,
            ),
            ("operations: All (every account)", ops, "/finance/refunds", None),
            ("operations: status=requested page 40", ops, "/finance/refunds?status=requested&page=40", None),
            ("agent: statement", client, "/finance/statement", None),
            ("operations: refund queue (open, overdue first)", ops, "/operations/refunds", None),
            (
                "operations: refund queue by Received, newest",
                ops,
                "/operations/refunds?status=&sort=received&dir=desc",
                None,
            ),
            ("operations: refund queue page 40", ops, "/operations/refunds?page=40", None),
        ]
        print()
        print(f"{'page':48} {'queries':>8} {'median ms':>10}")
        for label, who, url_path, headers in pages:
            median, counts, _ = measure(who, engine, url_path, args.repeat, headers)
            print(f"{label:48} {'/'.join(map(str, counts)):>8} {median * 1000:10.1f}")
        median, counts, size = measure(client, engine, "/finance/refunds/all/export.csv", 1)
        print(
            f"{'agent: CSV export of every refund':48} {'/'.join(map(str, counts)):>8} {median * 1000:10.1f}"
            f"  ({size / 1e6:.1f} MB)"
        )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
