"""Deadline-jobs benchmark: each job over 200,000 refunds, with nothing to flag and with 1,000 to flag.

    .venv/bin/python -m bench.jobs [--database-url URL] [--refunds 200000] [--to-flag 1000]

Builds its own database (SQLite bench-results/jobs.sqlite3, or a fresh PostgreSQL database on the
server --database-url names, dropped at the end): one agency, 2,000 bookings and --refunds refunds,
almost all final or already flagged, as in a portal that has run for a year. Then, in the same run:

1. runs each job when nothing is due (the job must answer from its partial index, not a scan);
2. adds --to-flag operator refunds requested 5 hours ago and --to-flag refunds 22 days old, and runs
   the jobs again: every due row flagged once, with its notifications;
3. prints both times, their ratio, and the query plan of each job's UPDATE.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, text

from bench.finance import database, insert_chunked


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.jobs", description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite under bench-results/)")
    p.add_argument("--refunds", type=int, default=200_000)
    p.add_argument("--to-flag", type=int, default=1_000)
    return p.parse_args(argv)


def build(app, n_refunds: int, now: datetime) -> None:
    from portal.extensions import db
    from portal.models import Account, Airline, Booking, Refund
    from portal.services.auth import create_user

    with app.app_context():
        db.create_all()
        conn = db.session.connection()
        conn.execute(
            insert(Account.__table__),
            [
                {
                    "id": 1,
                    "code": "BENCH",
                    "name": "Bench Travel",
                    "currency": "SGD",
                    "service_fee": Decimal("15"),
                }
            ],
        )
        conn.execute(
            insert(Airline.__table__),
            [{"id": 1, "code": "SQ", "name": "Singapore Airlines", "carrier_type": "FSC"}],
        )
        bookings = [
            {
                "id": i,
                "order_number": f"JB{i:08d}",
                "account_id": 1,
                "pnr": "JOBS01",
                "airline_id": 1,
                "payment_channel": "deposit",
                "currency": "SGD",
                "status": "ticketed",
                "issued_at": now - timedelta(days=400),
                "contact_email": "bench@example.com",
                "contact_phone": "+65 6000 0000",
                "first_departure_date": (now + timedelta(days=30)).date(),
                # These bookings only carry refunds (no segment or passenger rows): a summary as the
                # import would keep for one adult on SIN–BKK.
                "route": "SIN–BKK",
                "first_departure_at": now + timedelta(days=30),
                "first_departure_offset": 480,
                "lead_passenger": "BENCH/JOBS",
                "passenger_count": 1,
                "action_required": False,
                "imported_at": now,
                "updated_at": now,
            }
            for i in range(1, 2001)
        ]
        insert_chunked(conn, Booking.__table__, bookings)
        db.session.commit()
        agent = create_user("agent@bench.example", "Bench Agent", "agent", "bench-password-1", "BENCH")
        create_user("ops@bench.example", "Bench Ops", "operations", "bench-password-1")
        db.session.commit()
        conn = db.session.connection()
        rows = []
        for i in range(1, n_refunds + 1):
            age = timedelta(days=30 + i % 330)
            final = i % 20 != 0  # 95% final; the rest open but already flagged by earlier runs
            rows.append(
                {
                    "id": i,
                    "code": f"RF{i:08d}",
                    "booking_id": 1 + i % 2000,
                    "account_id": 1,
                    "path": "instant_quote" if i % 2 else "agent_request",
                    "status": ("refunded" if i % 3 else "rejected") if final else "submitted",
                    "currency": "SGD",
                    "involuntary": False,
                    "estimated_amount": Decimal("100.00"),
                    "service_fee": Decimal("15.00"),
                    "created_by_id": agent.id,
                    "created_at": now - age,
                    "updated_at": now - age,
                    "overdue_at": None,
                    "follow_up_eligible_at": None if final else now - age + timedelta(days=21),
                }
            )
        insert_chunked(conn, Refund.__table__, rows)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(text("ANALYZE refund"))
            db.session.commit()


def add_due(app, n: int, now: datetime, start_id: int) -> None:
    from portal.extensions import db
    from portal.models import Refund, User

    with app.app_context():
        agent_id = db.session.query(User.id).filter(User.role == "agent").scalar()
        rows = []
        for k in range(n):
            for j, (status, path, age) in enumerate(
                (
                    ("requested", "instant_quote", timedelta(hours=5)),  # overdue
                    ("submitted", "agent_request", timedelta(days=22)),  # follow-up eligible
                )
            ):
                i = start_id + 2 * k + j
                rows.append(
                    {
                        "id": i,
                        "code": f"RF{i:08d}",
                        "booking_id": 1 + i % 2000,
                        "account_id": 1,
                        "path": path,
                        "status": status,
                        "currency": "SGD",
                        "involuntary": False,
                        "estimated_amount": Decimal("100.00"),
                        "service_fee": Decimal("15.00"),
                        "created_by_id": agent_id,
                        "created_at": now - age,
                        "updated_at": now - age,
                    }
                )
        insert_chunked(db.session.connection(), Refund.__table__, rows)
        db.session.commit()


def run_jobs(app, now: datetime) -> dict[str, tuple[float, int]]:
    from portal import jobs
    from portal.extensions import db

    timings = {}
    with app.app_context():
        for name in ("overdue-refunds", "follow-up-eligible", "auto-complete-requests"):
            started = time.perf_counter()
            changed = jobs.run_job(name, now)
            timings[name] = (time.perf_counter() - started, len(changed))
        db.session.remove()
    return timings


def plans(app, now: datetime) -> dict[str, str]:
    from portal.extensions import db

    queries = {
        "overdue-refunds": "SELECT id FROM refund WHERE refund.status = 'requested' "
        "AND refund.overdue_at IS NULL AND created_at <= :cutoff "
        "AND path IN ('instant_quote', 'request_quote')",
        "follow-up-eligible": "SELECT id FROM refund WHERE refund.status IN ('requested', 'submitted', "
        "'received') AND refund.follow_up_eligible_at IS NULL AND created_at <= :cutoff",
    }
    out = {}
    with app.app_context():
        explain = "EXPLAIN QUERY PLAN " if db.engine.dialect.name == "sqlite" else "EXPLAIN "
        for name, sql in queries.items():
            rows = db.session.execute(
                text(explain + sql), {"cutoff": (now - timedelta(hours=4)).replace(tzinfo=None)}
            )
            out[name] = " | ".join(str(r[-1]) for r in rows)
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    from portal import create_app

    now = datetime.now(UTC)
    with database(args.database_url) as (url, description):
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "ARGON2_PROFILE": "fast-for-tests"}
        )
        print(f"Building {args.refunds:,} refunds on {description} …", flush=True)
        started = time.perf_counter()
        build(app, args.refunds, now)
        print(f"  built in {time.perf_counter() - started:.1f} s")
        idle = run_jobs(app, now)
        add_due(app, args.to_flag, now, args.refunds + 1)
        busy = run_jobs(app, now)
        print(f"\n{'job':<24}{'nothing due':>14}{f'{args.to_flag:,} due':>14}{'flagged':>10}{'ratio':>9}")
        for name in idle:
            (t0, n0), (t1, n1) = idle[name], busy[name]
            print(
                f"{name:<24}{t0 * 1000:>11.1f} ms{t1 * 1000:>11.1f} ms{n1:>10,}{t1 / t0 if t0 else 0:>8.1f}x"
            )
            if n0:
                print(f"  !! {name} flagged {n0} rows when nothing was due", file=sys.stderr)
                return 1
        print("\nQuery plans (the job conditions must use the partial indexes):")
        for name, plan in plans(app, now).items():
            print(f"  {name}: {plan}")
        from portal.extensions import db

        with app.app_context():
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
