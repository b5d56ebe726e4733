"""Where a page's time goes, in process: SQL, row loading and view code, rendering, everything else.

    python -m bench.profile [--database-url URL] [--repeat 40] [--cprofile "my bookings (agent)"]

Reads the database `make bench` built (default bench-results/bench.sqlite3; run `make bench` or
`python -m bench.run --keep` first). Each page is requested through Flask's test client as the bench's
agent or operations user, `--repeat` times after a warm-up; the table shows the median of each part:

- **SQL**: time inside the database driver's execute (the query's own work; on SQLite the first rows);
- **rows+view**: the view function's own time less SQL and rendering (ORM objects, loading rows, forms);
- **render**: the template (less any SQL it triggers);
- **other**: the rest of the request (routing, session, the user's load, headers, teardown).

Times are CPU time of this process (time.process_time), so they do not depend on other processes the
way requests per second do: before/after comparisons hold on a busy machine. `--cprofile NAME` prints
the top functions of one page (PROFILE_SORT=tottime to sort by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import time
from pathlib import Path

from sqlalchemy import event, select

ROOT = Path(__file__).resolve().parent.parent


class Clock:
    """Accumulates SQL time and rendering time of the current request."""

    def __init__(self):
        self.sql = 0.0
        self.render = 0.0
        self.render_sql = 0.0
        self.view = 0.0
        self.view_sql = 0.0
        self.queries = 0
        self.echo = False
        self._started: list[float] = []

    def reset(self):
        self.__init__()


CLOCK = Clock()


def _instrument(app) -> None:
    from portal import htmx
    from portal.extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        CLOCK._started.append(time.process_time())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        CLOCK.sql += time.process_time() - CLOCK._started.pop()
        CLOCK.queries += 1
        if CLOCK.echo:
            print(f"  -- {' '.join(statement.split())[:2000]}  {parameters!r:.120}")

    def timed(fn, total_attr, sql_attr):
        def wrapper(*args, **kwargs):
            sql_before = CLOCK.sql
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                setattr(CLOCK, total_attr, getattr(CLOCK, total_attr) + time.process_time() - started)
                setattr(CLOCK, sql_attr, getattr(CLOCK, sql_attr) + CLOCK.sql - sql_before)

        wrapper.__wrapped__ = fn
        return wrapper

    # Every page renders through htmx.render (page or block); the API dumps through flask-smorest.
    import flask

    flask.templating._render = timed(flask.templating._render, "render", "render_sql")
    htmx.render_block = timed(htmx.render_block, "render", "render_sql")
    for endpoint, fn in list(app.view_functions.items()):
        app.view_functions[endpoint] = timed(fn, "view", "view_sql")


def pages(order_numbers: list[str]) -> list[tuple[str, str, str, dict]]:
    """(name, who, path, headers) of each page measured."""
    return [
        ("healthz", "", "/healthz", {}),
        ("my bookings (agent)", "agent", "/bookings/", {}),
        ("my bookings (operations)", "operations", "/bookings/", {}),
        ("search q=TAN (agent)", "agent", "/bookings/?q=TAN", {}),
        ("search q=TAN htmx partial (agent)", "agent", "/bookings/?q=TAN", {"HX-Request": "true"}),
        ("booking details (agent)", "agent", f"/bookings/{order_numbers[0]}", {}),
        ("booking GET over the API (agent)", "api", f"/api/v1/bookings/{order_numbers[0]}", {}),
        ("refund queue (operations)", "operations", "/operations/refunds", {}),
        ("refund queue htmx partial", "operations", "/operations/refunds", {"HX-Request": "true"}),
        ("finance refunds (agent)", "agent", "/finance/refunds", {}),
        ("my requests (agent)", "agent", "/requests/", {}),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", default=f"sqlite:///{ROOT / 'bench-results' / 'bench.sqlite3'}")
    p.add_argument("--repeat", type=int, default=40)
    p.add_argument("--cprofile", help="print the top functions of this page (its name in the table)")
    p.add_argument("--only", help="measure only the pages whose name contains this")
    p.add_argument("--sql", action="store_true", help="print each measured page's statements once")
    args = p.parse_args(argv)

    os.environ.setdefault("PORTAL_SECRET_KEY", "bench-profile")
    os.environ["PORTAL_SCHEDULER"] = "off"
    os.environ["PORTAL_API_RATE_LIMIT"] = str(10**9)
    os.environ["PORTAL_DATABASE_URL"] = args.database_url

    from bench.build import AGENT_EMAIL, OPERATIONS_EMAIL
    from portal import create_app
    from portal.extensions import db
    from portal.models import Booking, User
    from portal.services.api_keys import create_api_key

    app = create_app({"SQLALCHEMY_DATABASE_URI": args.database_url})
    with app.app_context():
        agent = db.session.scalar(select(User).where(User.email == AGENT_EMAIL))
        operations = db.session.scalar(select(User).where(User.email == OPERATIONS_EMAIL))
        if agent is None or operations is None:
            raise SystemExit("No bench users in that database: run `python -m bench.run --keep` first.")
        sessions = {"agent": agent.get_id(), "operations": operations.get_id()}
        _, key = create_api_key(agent, "Profile", by=agent)
        account_id = agent.account_id
        numbers = db.session.scalars(
            select(Booking.order_number).where(Booking.account_id == account_id).order_by(Booking.id).limit(1)
        ).all()
        db.session.commit()
        db.session.remove()
    _instrument(app)

    clients = {}
    for who, user_id in sessions.items():
        client = app.test_client()
        with client.session_transaction() as s:
            s["_user_id"] = user_id
            s["_fresh"] = True
        clients[who] = client
    clients[""] = app.test_client()
    clients["api"] = app.test_client()

    def get(who, path, headers):
        if who == "api":
            headers = {**headers, "Authorization": f"Bearer {key}"}
        response = clients[who].get(path, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        return response

    header = (
        f"{'page':<36} {'total ms':>9} {'SQL':>7} {'rows+view':>10} {'render':>7} {'other':>7} {'queries':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, who, path, headers in pages(numbers):
        if args.only and args.only not in name:
            continue
        try:
            for _ in range(3):
                get(who, path, headers)
        except SystemExit as exc:
            print(f"{name:<36} skipped: {exc}")
            continue
        if args.sql:
            print(f"{name}:")
            CLOCK.echo = True
            get(who, path, headers)
            CLOCK.echo = False
        rows = []
        for _ in range(args.repeat):
            CLOCK.reset()
            started = time.process_time()
            get(who, path, headers)
            total = time.process_time() - started
            render = CLOCK.render - CLOCK.render_sql
            view = CLOCK.view - CLOCK.view_sql - render
            sql = CLOCK.sql
            rows.append((total, sql, view, render, total - sql - view - render, CLOCK.queries))
        med = [statistics.median(col) * 1000 for col in list(zip(*rows, strict=True))[:5]]
        queries = rows[-1][5]
        print(
            f"{name:<36} {med[0]:>9.1f} {med[1]:>7.1f} {med[2]:>10.1f} {med[3]:>7.1f} {med[4]:>7.1f}"
            f" {queries:>8}"
        )
        if args.cprofile and args.cprofile == name:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.repeat):
                get(who, path, headers)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(
                os.environ.get("PROFILE_SORT", "cumulative")
            ).print_stats(45)
            print(out.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
