"""Finance benchmark: a 10,000-row batch refund in one request, and the refund lists at 200,000 refunds,
in process and served by gunicorn against /healthz (issue 14: the refund queue at >= 0.15x).

    .venv/bin/python -m bench.finance [--database-url URL] [--refunds 200000] [--batch-rows 10000]
        [--duration 5] [--warmup 1] [--rounds 3] [--threads 4] [--workers 2] [--no-serve]

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
4. Unless --no-serve: serves the same database (now --refunds + 2 x --batch-rows refunds) with gunicorn
   as bench.run does, logs the agent and operations in over HTTP, and measures /healthz, the refund queue,
   its htmx partial and the agent's Finance → Refunds in rounds; prints bench.run's table and each queue
   row's ratio to /healthz against the goal. Everything goes to bench-results/finance.json; exits 1 when
   a served request did not answer 200.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import secrets
import signal
import statistics
import sys
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url

from bench.build import analyze_filled_tables
from bench.data import summary_of
from bench.machine import is_postgres
from bench.run import (
    add_load_arguments,
    check_load_arguments,
    endpoint_records,
    format_table,
    load_settings,
    machine,
    measure_in_rounds,
    noise_warning,
    ratio_of,
    showing,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"
CHUNK = 5000
SURNAMES = ["TAN", "LIM", "LEE", "NG", "WONG", "GOH", "CHUA", "ONG", "NAIR", "KUMAR", "SMITH", "DAS"]
AGENT_EMAIL = "agent@bench.example"
OPERATIONS_EMAIL = "ops@bench.example"
# Issue 14: the operations refund queue, at 200,000 refunds, serves at least 15 % of /healthz's requests/s.
QUEUE_GOAL = 0.15
QUEUE_ENDPOINTS = ("refund queue (operations)", "refund queue htmx partial")
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
    add_load_arguments(p)
    p.add_argument(
        "--no-serve",
        action="store_true",
        help="skip serving the database with gunicorn (the refund queue's ratio to /healthz)",
    )
    args = p.parse_args(argv)
    check_load_arguments(p, args)
    return args


# --- the database -----------------------------------------------------------------------------------------


@contextmanager
def database(url_text: str | None):
    """(URL, description, the database server's processes serving it) of a database of this run's own."""
    if not url_text:
        path = RESULTS / "finance.sqlite3"
        RESULTS.mkdir(exist_ok=True)
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        yield f"sqlite:///{path}", f"SQLite {path}", list
        return
    url = make_url(url_text)
    if url.get_backend_name() != "postgresql":
        raise SystemExit("--database-url: PostgreSQL only (SQLite is the default)")
    name = f"portal_bench_fin_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def backends() -> list[int]:
        with admin.connect() as conn:
            pids = conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = :n"), {"n": name})
            return [pid for pid in pids if is_postgres(pid)]

    try:
        yield url.set(database=name).render_as_string(hide_password=False), f"PostgreSQL {name}", backends
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
        agent = create_user(AGENT_EMAIL, "Bench Agent", "agent", password, "BENCH-A")
        ops = create_user(OPERATIONS_EMAIL, "Bench Ops", "operations", password, None)
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
                        # The summary of the segments and passengers below is added after them.
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
                # What the import keeps of them on the booking, by the product's own booking_summary().
                bookings[-1].update(
                    summary_of(segments[-2:], [SimpleNamespace(**p) for p in passengers[-2:]])
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
            analyze_filled_tables()  # bench.build's: the filled tables only, as autovacuum would
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


def served_endpoints(agent: dict, operations: dict) -> list:
    """What is measured under gunicorn, /healthz first: the base of every ratio."""
    from bench.load import Endpoint

    page = "Showing 1–"  # a list's count line: not a login page, not an error page
    queue, partial = QUEUE_ENDPOINTS
    return [
        Endpoint("healthz", ["/healthz"], expect='"ok"'),
        Endpoint(queue, ["/operations/refunds"], operations, expect=page),
        Endpoint(
            partial,
            ["/operations/refunds"],
            operations,
            headers={"HX-Request": "true"},
            expect=page,
            refuse="<html",
        ),
        Endpoint("finance refunds (agent)", ["/finance/refunds"], agent, expect=page),
    ]


def serve_and_measure(args, url: str, password: str, database_pids) -> list:
    """Serve the database with gunicorn as bench.run does, log both users in over HTTP, check every
    endpoint once and measure them in rounds; gunicorn is stopped whatever happens."""
    from bench import load
    from bench.server import Gunicorn

    log_path = RESULTS / "finance-gunicorn.log"  # bench.run's gunicorn.log stays for reading
    server = Gunicorn(ROOT, url, os.environ["PORTAL_SECRET_KEY"], args.workers, log_path)
    try:
        server.start()
        print(f"Serving: gunicorn {' '.join(server.command()[1:])} (log {log_path.relative_to(ROOT)})")
        agent = load.login(server.port, AGENT_EMAIL, password)
        operations = load.login(server.port, OPERATIONS_EMAIL, password)
        plan = served_endpoints(agent, operations)
        for endpoint in plan:
            body = load.check(server.port, endpoint)
            if endpoint.name != "healthz":
                print(f"  {endpoint.name}: {showing(body)}")
        return measure_in_rounds(server, plan, args, database_pids)
    finally:
        server.stop()


def goal_lines(results) -> list[str]:
    """The refund queue's rows against issue 14's goal."""
    base = results[0].rps
    lines = []
    for r in results:
        if r.endpoint in QUEUE_ENDPOINTS:
            ratio = ratio_of(r, base)
            verdict = "reached" if ratio >= QUEUE_GOAL else "NOT reached"
            lines.append(f"{r.endpoint}: {ratio:.2f}x healthz (goal {QUEUE_GOAL:.2f}x): {verdict}")
    return lines


def report(args, document: dict, results: list) -> int:
    """Print the served table and the goal, write bench-results/finance.json; 1 when a request failed."""
    if results:
        print()
        print(format_table(results, results[0].rps))
        print()
        print("\n".join(goal_lines(results)))
        warning = noise_warning(results)
        if warning:
            print(warning)
    document.update(
        ok=not any(r.errors for r in results),
        load=None if args.no_serve else load_settings(args),
        machine=machine(),
        goal={"endpoints": list(QUEUE_ENDPOINTS), "ratio_to_healthz": QUEUE_GOAL},
        results=endpoint_records(results),
    )
    output = RESULTS / "finance.json"
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"Written: {output.relative_to(ROOT)}")
    failed = [r for r in results if r.errors]
    if failed:
        bar = "!" * 78
        print(f"\n{bar}\n!!! Requests did not answer 200: these numbers are NOT valid.", file=sys.stderr)
        for r in failed:
            print(f"!!!   {r.endpoint}: {r.error_detail}", file=sys.stderr)
        print(f"!!! See bench-results/finance-gunicorn.log for the server's side.\n{bar}", file=sys.stderr)
        return 1
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from portal import create_app
    from portal.extensions import db
    from portal.models import Refund

    # One secret for this run, as bench.run has it: the in-process app and gunicorn's workers sign
    # sessions alike, and no instance/secret_key is written.
    os.environ["PORTAL_SECRET_KEY"] = secrets.token_hex(32)
    if not args.no_serve and (ROOT / "instance" / "config.py").exists():
        print("warning: instance/config.py exists; gunicorn's workers read it and it may override settings.")
    # SIGTERM stops the run like Ctrl-C does: gunicorn is stopped and the database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with database(args.database_url) as (url, description, database_pids):
        instance = RESULTS / "finance-instance"
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": os.environ["PORTAL_SECRET_KEY"],
                "WTF_CSRF_ENABLED": False,  # in-process client; CSRF is tested elsewhere
                "SCHEDULER": "off",
            },
            instance_path=str(instance),
        )
        print(f"Database: {description}")
        started = time.perf_counter()
        built = build(app, args.refunds, args.batch_rows)
        build_seconds = time.perf_counter() - started
        print(f"Built {built['refunds']:,} refunds in {build_seconds:.1f} s")

        with app.app_context():
            engine = db.engine
        client = app.test_client()
        login(client, AGENT_EMAIL, built["password"])
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
        login(ops, OPERATIONS_EMAIL, built["password"])
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
        in_process = []
        print()
        print(f"{'page':48} {'queries':>8} {'median ms':>10}")
        for label, who, url_path, headers in pages:
            median, counts, _ = measure(who, engine, url_path, args.repeat, headers)
            in_process.append(
                {"page": label, "path": url_path, "queries": counts, "median_ms": round(median * 1000, 2)}
            )
            print(f"{label:48} {'/'.join(map(str, counts)):>8} {median * 1000:10.1f}")
        median, counts, size = measure(client, engine, "/finance/refunds/all/export.csv", 1)
        in_process.append(
            {
                "page": "agent: CSV export of every refund",
                "path": "/finance/refunds/all/export.csv",
                "queries": counts,
                "median_ms": round(median * 1000, 2),
                "bytes": size,
            }
        )
        print(
            f"{'agent: CSV export of every refund':48} {'/'.join(map(str, counts)):>8} {median * 1000:10.1f}"
            f"  ({size / 1e6:.1f} MB)"
        )
        with app.app_context():
            refunds = db.session.scalar(select(func.count()).select_from(Refund))
            db.session.remove()
            db.engine.dispose()  # from here gunicorn's workers have the database to themselves

        document = {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": {
                "dialect": make_url(url).get_backend_name(),
                "description": description,
                "refunds_built": built["refunds"],
                "refunds_served": refunds,  # with the batch's and the bare insert's
                "build_seconds": round(build_seconds, 1),
            },
            "batch": {
                "rows": args.batch_rows,
                "created": created,
                "seconds": round(batch_seconds, 2),
                "bare_insert_seconds": round(bare_seconds, 2),
            },
            "in_process": in_process,
        }
        results = []
        if not args.no_serve:
            print(f"\nServed: {description}, {refunds:,} refunds")
            try:
                results = serve_and_measure(args, url, built["password"], database_pids)
            except RuntimeError as exc:
                print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
                return 1
    return report(args, document, results)


if __name__ == "__main__":
    raise SystemExit(main())
