"""Import benchmark: `flask import-bookings`, the command people use, on new, unchanged and 1 % changed files.

    .venv/bin/python -m bench.imports [--database-url URL] [--bookings 20000] [--changed 0.01] [--new-only]

1. Makes a database of its own (SQLite bench-results/imports.sqlite3, rebuilt every run; or a fresh
   PostgreSQL database portal_bench_<random> on the server --database-url names, dropped at the end)
   with `flask init-db` and `flask create-account BENCH`.
2. Writes two portal-bookings/1 files to a temporary directory (never into the repository):
   --bookings simple bookings (one passenger, one segment each) issued over two years, and the same
   file with --changed of the bookings' flights moved by two hours.
3. Runs `python -m flask --app portal import-bookings <file>` as a separate process on the first file
   (new bookings), on it again (nothing changed) and on the second (--new-only: the first run only), and
   prints bookings a second, wall time and the process's peak resident memory; then checks what the
   database holds (every booking created; nothing written by the unchanged file; exactly one schedule
   change per moved flight).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, select

from bench.database import PostgresTarget, SQLiteTarget
from portal.models import Booking, ScheduleChange

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"
SURNAMES = ["TAN", "LIM", "LEE", "NG", "WONG", "GOH", "CHUA", "ONG", "NAIR", "KUMAR", "SMITH", "DAS"]
FIRSTS = ["WEI MING", "HUI LING", "ARJUN", "SIEW LAN", "JOHN", "MEI", "KAREN", "RAVI", "ANNA", "JUN"]
SGT = timezone(timedelta(hours=8))
ROUTES = [("SIN", "BKK", 150), ("SIN", "HKG", 235), ("SIN", "NRT", 400), ("BKK", "SIN", 145)]


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__.split("\n\n")[0])
    p.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite under bench-results/)")
    p.add_argument("--bookings", type=int, default=20_000, help="bookings in the file (default 20000)")
    p.add_argument("--changed", type=float, default=0.01, help="share moved in the third file (0.01)")
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--files", type=Path, help="directory for the files (default: a temporary one)")
    p.add_argument(
        "--portal",
        type=Path,
        default=ROOT,
        help="run the command from this checkout (default: this one), to measure another version",
    )
    p.add_argument(
        "--new-only", action="store_true", help="import the new file only (a memory check on a large file)"
    )
    return p.parse_args(argv)


def booking(i: int, rng: random.Random, now: datetime, moved: bool = False) -> dict:
    origin, destination, minutes = ROUTES[i % len(ROUTES)]
    issued = now - timedelta(days=730) + timedelta(seconds=i * 631 % (730 * 86400))
    departure = (issued + timedelta(days=20 + i % 200, hours=i % 24)).astimezone(SGT)
    if moved:
        departure += timedelta(hours=2)
    arrival = departure + timedelta(minutes=minutes)
    return {
        "order_number": f"IM{i:08d}",
        "account": "BENCH",
        "pnr": f"P{i % 100000:05d}",
        "airline": "SQ",
        "payment_channel": ("deposit", "vcc", "vcc_passthrough")[i % 3],
        "currency": "SGD",
        "status": "ticketed",
        "issued_at": issued.isoformat(timespec="seconds"),
        "contact": {"email": f"traveller{i}@example.com", "phone": "+65 6000 0000"},
        "passengers": [
            {
                "ref": "P1",
                "type": "ADT",
                "title": "MR",
                "first_name": FIRSTS[rng.randrange(len(FIRSTS))],
                "last_name": SURNAMES[rng.randrange(len(SURNAMES))],
                "ticket_number": f"618-{2400000000 + i:010d}",
                "fare": {"base": "420.00", "taxes": "80.50", "refundable_taxes": "41.20"},
                "fare_rule": {
                    "refundable": True,
                    "cancellation_fee": "50.00",
                    "changeable": True,
                    "change_fee": "30.00",
                },
            }
        ],
        "segments": [
            {
                "ref": "S1",
                "flight_number": f"SQ{100 + i % 900}",
                "origin": origin,
                "destination": destination,
                "departure": departure.isoformat(timespec="seconds"),
                "arrival": arrival.isoformat(timespec="seconds"),
                "cabin": "Economy",
                "status": "confirmed",
            }
        ],
    }


def write_file(path: Path, n: int, seed: int, now: datetime, moved: set[int] = frozenset()) -> None:
    """One portal-bookings/1 file, written booking by booking (a million would not fit a list)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as f:
        f.write('{"format": "portal-bookings/1",\n')
        f.write(' "airlines": [{"code": "SQ", "name": "Singapore Airlines", "type": "FSC"}],\n')
        f.write(' "bookings": [\n')
        for i in range(n):
            if i:
                f.write(",\n")
            f.write(json.dumps(booking(i, rng, now, i in moved)))
        f.write("\n]}\n")


def flask(url: str, *args: str, cwd: Path = ROOT) -> tuple[float, float, int, str]:
    """Run `flask --app portal <args>` in cwd (whose portal package it imports); its wall time, CPU time
    (user + system: what the machine's other work does not inflate much), peak resident memory (MB) and
    output."""
    env = {**os.environ, "PORTAL_DATABASE_URL": url, "PORTAL_SCHEDULER": "off"}
    env.setdefault("PORTAL_SECRET_KEY", "bench-imports")
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        proc = subprocess.Popen(  # noqa: S603 — our own interpreter and arguments
            [sys.executable, "-m", "flask", "--app", "portal", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({proc.returncode}):\n{output[-3000:]}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss // 1024, output


def state(url: str) -> tuple[int, int, object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            bookings = conn.scalar(select(func.count()).select_from(Booking.__table__))
            changes = conn.scalar(select(func.count()).select_from(ScheduleChange.__table__))
            latest = conn.scalar(select(func.max(Booking.__table__.c.updated_at)))
            return bookings, changes, latest
    finally:
        engine.dispose()


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.database_url:
        from sqlalchemy.engine import make_url

        target = PostgresTarget(make_url(args.database_url), keep=False)
    else:
        target = SQLiteTarget(RESULTS / "imports.sqlite3", may_delete=True)
    n = args.bookings
    now = datetime.now(UTC).replace(microsecond=0)
    moved = set(random.Random(args.seed + 1).sample(range(n), max(1, round(n * args.changed))))
    with tempfile.TemporaryDirectory(prefix="portal-bench-import-") as tmp:
        files = args.files or Path(tmp)
        files.mkdir(parents=True, exist_ok=True)
        new, changed = files / f"bookings-{n}.json", files / f"bookings-{n}-changed.json"
        started = time.perf_counter()
        write_file(new, n, args.seed, now)
        if not args.new_only:
            write_file(changed, n, args.seed, now, moved)
        print(
            f"Files: {n:,} bookings, {new.stat().st_size / 1e6:.1f} MB, written in "
            f"{time.perf_counter() - started:.1f} s ({files})",
            flush=True,
        )
        try:
            target.reset()
            url = target.url_string
            flask(url, "init-db", cwd=args.portal)
            flask(
                url, "create-account", "BENCH", "--name", "Bench Travel", "--currency", "SGD", cwd=args.portal
            )
            print(f"Database: {target.description}; load {os.getloadavg()[0]:.2f}", flush=True)
            rows = []
            problems = []
            runs = [("new", new), ("unchanged", new), (f"{args.changed:.0%} changed", changed)]
            for name, path in runs[:1] if args.new_only else runs:
                before = state(url)
                seconds, cpu, rss, output = flask(url, "import-bookings", str(path), cwd=args.portal)
                after = state(url)
                rows.append((name, seconds, cpu, rss, os.getloadavg()[0]))
                print(
                    f"  {name:<12} {n / seconds:>9,.0f}/s {seconds:>8.1f} s {cpu:>8.1f} s CPU {rss:>6} MB",
                    flush=True,
                )
                if name == "new" and after[0] != n:
                    problems.append(f"new: {after[0]} bookings in the database, expected {n}")
                if name == "unchanged" and after != before:
                    problems.append(f"unchanged: the database changed ({before} -> {after})")
                found = after[1] - before[1]
                if name.endswith("changed") and name != "unchanged" and found != len(moved):
                    problems.append(f"changed: {found} schedule changes, expected {len(moved)}")
                if "booking(s) created" not in output:
                    problems.append(f"{name}: no summary in the output:\n{output[-2000:]}")
        finally:
            target.finish()
    head = f"{'bookings/s':>12}{'seconds':>9}{'per CPU s':>11}{'CPU s':>8}{'peak RSS':>10}{'load':>6}"
    print(f"\n{'file':<14}{head}")
    for name, seconds, cpu, rss, load in rows:
        figures = f"{n / seconds:>12,.0f}{seconds:>9.1f}{n / cpu:>11,.0f}{cpu:>8.1f}{rss:>7} MB{load:>6.1f}"
        print(f"{name:<14}{figures}")
    for problem in problems:
        print(f"  !! {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
