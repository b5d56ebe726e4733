"""`make bench`: build a database of N bookings, serve it with gunicorn, measure requests per second.

    python -m bench.run [--bookings 100000] [--database-url URL] [--keep] [--duration 5] ...

Prints the build time and a table (requests/s, median and p95 latency, ratio to /healthz) and writes the
same to bench-results/latest.json. Exits non-zero when any request did not answer 200.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import signal
import statistics
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--bookings", type=int, default=100_000, help="bookings to build (default 100000)")
    p.add_argument(
        "--database-url",
        help="default: SQLite file bench-results/bench.sqlite3. A postgresql+psycopg://… URL names a "
        "server: the benchmark creates a database portal_bench_<random> on it and drops it at the end.",
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="reuse an already-built database of the right size (PostgreSQL: keep it, as "
        "portal_bench_kept, instead of dropping it)",
    )
    add_load_arguments(p)
    p.add_argument("--seed", type=int, default=20261123, help="random seed of the data set")
    p.add_argument("--output", type=Path, default=RESULTS / "latest.json", help="JSON results file")
    p.add_argument(
        "--sizes",
        help="comma-separated booking counts (e.g. 10000,100000,1000000): measure each on a database of "
        "its own and print how far each page's ratio to /healthz moves with size; --bookings is ignored",
    )
    args = p.parse_args(argv)
    try:
        args.sizes = [int(n) for n in args.sizes.split(",")] if args.sizes else [args.bookings]
    except ValueError:
        p.error("--sizes must be booking counts separated by commas")
    args.bookings = args.sizes[-1]
    if min(args.sizes) < 1:
        p.error("--bookings must be at least 1")
    check_load_arguments(p, args)
    return args


def add_load_arguments(p: argparse.ArgumentParser) -> None:
    """How pages are served and loaded: --duration, --warmup, --rounds, --threads, --workers (bench.finance
    takes the same)."""
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per endpoint (default 5)")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds first (default 1)")
    p.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="measure every endpoint, /healthz included, in this many rounds of duration/rounds seconds; "
        "a page's ratio is the median of its ratios to the same round's /healthz (default 3)",
    )
    p.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")


def check_load_arguments(p: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 1 <= args.threads <= 16:
        p.error("--threads must be 1-16 (the load is bounded on purpose)")
    if args.duration <= 0 or args.warmup < 0:
        p.error("--duration must be positive and --warmup not negative")
    if not 1 <= args.rounds <= 20:
        p.error("--rounds must be 1-20")


# The API refund row needs bookings to refund: fewer than this (a kept database refunded by earlier runs)
# and the row is left out rather than measured over a handful of calls.
MIN_REFUND_ORDERS = 50


def quote_and_refund(api_key: str, orders: list[str]):
    """One step of the API's refund: quote a booking's first passenger, then ask for the refund with that
    quote (two calls, each booking once); "200" when both answered 201. A quote the portal says cannot be
    used (nothing to refund: the fees take it all) is passed over for the next booking, as an agency's
    system would, and not counted as an error. When no booking is left the row ends (None), measured over
    the pairs it made (a small database has only a few hundred bookings to refund)."""
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    remaining = iter(orders)
    lock = threading.Lock()

    def step(client, k: int) -> str:
        for _ in range(5):
            with lock:
                order = next(remaining, None)
            if order is None:
                return None  # every booking was refunded: this row ends here, with what it measured
            status, _, body = client.request(
                "POST", f"/api/v1/bookings/{order}/refund-quotes", b'{"passengers": ["P1"]}', headers
            )
            if status != 201:
                return f"quote {status}"
            quote = json.loads(body)
            if quote["acceptable"]:
                break
        else:
            return "no usable quote in five bookings"
        status, _, _ = client.request(
            "POST", "/api/v1/refunds", json.dumps({"quote_id": quote["id"]}).encode(), headers
        )
        return "200" if status == 201 else f"refund {status}"

    return step


def endpoints(agent, operations, order_numbers, api_key, refund_orders):
    from bench.load import Endpoint

    page = "Showing 1–"
    return [
        Endpoint("healthz", ["/healthz"], expect='"ok"'),
        Endpoint("my bookings (agent)", ["/bookings/"], agent, expect=page),
        Endpoint("my bookings (operations)", ["/bookings/"], operations, expect=page),
        Endpoint("search q=TAN (agent)", ["/bookings/?q=TAN"], agent, expect=page),
        Endpoint(
            "search q=TAN htmx partial (agent)",
            ["/bookings/?q=TAN"],
            agent,
            headers={"HX-Request": "true"},
            expect=page,
            refuse="<html",
        ),
        Endpoint(
            "booking details (agent)",
            [f"/bookings/{n}" for n in order_numbers],
            agent,
            expect=order_numbers[0],
        ),
        Endpoint(
            "booking GET over the API (agent)",
            [f"/api/v1/bookings/{n}" for n in order_numbers],
            headers={"Authorization": f"Bearer {api_key}"},
            expect=order_numbers[0],
        ),
        Endpoint(
            "API quote + refund (2 calls, agent)",
            ["/api/v1/bookings/{order}/refund-quotes", "/api/v1/refunds"],
            step=quote_and_refund(api_key, refund_orders),
        ),
    ]


def showing(text: str) -> str:
    """A list page's "Showing 1–25 of N …" line, or "" when it has none."""
    match = re.search(r"Showing [^<]*", text)
    return " ".join(match.group(0).split()) if match else ""


def ratio_of(result, base_rps: float) -> float:
    """The endpoint's ratio to /healthz: the median of its rounds' ratios when it was measured in rounds,
    else its requests/s over /healthz's."""
    if result.ratio is not None:
        return result.ratio
    return result.rps / base_rps if base_rps else 0.0


def combined(name: str, rounds: list, healthz_rounds: list):
    """One endpoint's rounds as one result: requests and seconds summed, the median of the rounds'
    medians, the worst round's p95, and the median of its ratios to each round's /healthz."""
    from bench.load import Result

    rounds_measured = [r for r in rounds if r.requests] or rounds[:1]
    errors, detail = 0, {}
    for r in rounds:
        errors += r.errors
        for key, n in r.error_detail.items():
            detail[key] = detail.get(key, 0) + n
    ratios = [r.rps / h.rps for r, h in zip(rounds, healthz_rounds, strict=False) if h.rps and r.requests]
    shares = [r.others_cpu for r in rounds if r.others_cpu is not None]
    return Result(
        endpoint=name,
        path=rounds[0].path,
        requests=sum(r.requests for r in rounds),
        seconds=sum(r.seconds for r in rounds),
        median_ms=statistics.median(r.median_ms for r in rounds_measured),
        p95_ms=max(r.p95_ms for r in rounds_measured),
        errors=errors,
        error_detail=detail,
        others_cpu=max(shares) if shares else None,
        ratio=statistics.median(ratios) if ratios else None,
        round_ratios=[round(r, 3) for r in ratios],
    )


def format_table(results, base_rps: float) -> str:
    columns = ("requests/s", 10), ("median ms", 10), ("p95 ms", 9), ("vs healthz", 15), ("errors", 7)
    header = f"{'endpoint':<36}" + "".join(f" {name:>{width}}" for name, width in columns) + "  others' CPU"
    lines = [header, "-" * len(header)]
    for r in results:
        ratio = f"{ratio_of(r, base_rps):.2f}x healthz" if base_rps else "n/a"
        others = f"{r.others_cpu:.0%}" if r.others_cpu is not None else "n/a"
        lines.append(
            f"{r.endpoint:<36} {r.rps:>10.1f} {r.median_ms:>10.1f} {r.p95_ms:>9.1f} {ratio:>15} {r.errors:>7}"
            f"  {others:>11}"
        )
    return "\n".join(lines)


def flatness_table(runs: dict[int, list]) -> str:
    """Each endpoint's ratio to /healthz at every size, and how far it moves: (max - min) / max."""
    sizes = list(runs)
    header = f"{'endpoint':<36}" + "".join(f" {f'{n:,}':>10}" for n in sizes) + f" {'spread':>8}"
    lines = [header, "-" * len(header)]
    by_size = {n: {r.endpoint: ratio_of(r, runs[n][0].rps) for r in runs[n]} for n in sizes}
    for first in runs[sizes[0]][1:]:  # healthz first: 1.00 by definition
        if not all(first.endpoint in by_size[n] for n in sizes):
            continue  # not measured at every size (the API refund row on a refunded kept database)
        ratios = [by_size[n][first.endpoint] for n in sizes]
        spread = (max(ratios) - min(ratios)) / max(ratios) if max(ratios) else 0.0
        flag = "  <- grows with size" if spread >= 0.25 else ""
        lines.append(
            f"{first.endpoint:<36}" + "".join(f" {r:>9.2f}x" for r in ratios) + f" {spread:>8.0%}{flag}"
        )
    return "\n".join(lines)


def result_document(args, target, database: str, report, results) -> dict:
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ok": not any(r.errors for r in results),
        "database": {
            "dialect": target.dialect,
            "description": database,
            "bookings": args.bookings,
            "reused": report.reused,
            "build_seconds": report.seconds,
            "build_steps_seconds": report.steps,
            "rows": report.rows,
        },
        "load": load_settings(args),
        "machine": machine(),
        "results": endpoint_records(results),
    }


def load_settings(args) -> dict:
    return {
        "server": f"gunicorn -w {args.workers} wsgi:app (sync workers)",
        "client_threads": args.threads,
        "warmup_seconds": args.warmup,
        "duration_seconds": args.duration,
        "rounds": args.rounds,
    }


def machine() -> dict:
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}


def endpoint_records(results) -> list[dict]:
    """One JSON record per endpoint; the first result is /healthz, the base of every ratio."""
    base = results[0].rps if results else 0.0
    return [
        {
            "endpoint": r.endpoint,
            "path": r.path,
            "requests": r.requests,
            "seconds": round(r.seconds, 2),
            "requests_per_second": round(r.rps, 1),
            "median_ms": round(r.median_ms, 2),
            "p95_ms": round(r.p95_ms, 2),
            "ratio_to_healthz": round(ratio_of(r, base), 3) if base else None,
            "ratio_by_round": r.round_ratios,
            "errors": r.errors,
            "error_detail": r.error_detail,
            "others_cpu_share": None if r.others_cpu is None else round(r.others_cpu, 3),
        }
        for r in results
    ]


def measure_in_rounds(server, plan, args, database_pids=list) -> list:
    """Every endpoint of `plan` under load, /healthz (plan[0]) first, in args.rounds rounds: one combined
    result per endpoint, in the plan's order. `database_pids` names the database server's processes
    serving the run (not counted as others' CPU)."""
    from bench.load import measure
    from bench.machine import CpuShare

    print(
        f"Load: {args.threads} client threads, {args.warmup:g} s warm-up + {args.duration:g} s per "
        f"endpoint in {args.rounds} round(s), every endpoint once a round, closed loop, 127.0.0.1 only",
        flush=True,
    )
    # Rounds: a drift of the machine (another process, the CPU's clock) moves /healthz and the pages
    # of the same round alike, so each page is compared with its own round's /healthz.
    measured: dict[str, list] = {endpoint.name: [] for endpoint in plan}
    for round_number in range(args.rounds):
        for endpoint in plan:
            earlier = measured[endpoint.name]
            if earlier and earlier[-1].ended:
                continue  # a step row that ran out of bookings in an earlier round
            share = CpuShare([server.process.pid], database_pids)
            share.start()
            result = measure(
                server.port,
                endpoint,
                threads=args.threads,
                warmup=args.warmup if round_number == 0 else min(args.warmup, 0.3),
                duration=args.duration / args.rounds,
            )
            result.others_cpu = share.stop()
            measured[endpoint.name].append(result)
    healthz = measured[plan[0].name]
    results = []
    for endpoint in plan:
        result = combined(endpoint.name, measured[endpoint.name], healthz)
        results.append(result)
        print(f"  {endpoint.name}: {result.rps:.1f} requests/s", flush=True)
    return results


def noise_warning(results) -> str | None:
    """A warning naming the endpoints measured while other processes used over 15% of the CPUs."""
    noisy = [r.endpoint for r in results if r.others_cpu is not None and r.others_cpu > 0.15]
    if not noisy:
        return None
    return (
        f"warning: other processes used over 15% of the CPUs while measuring {', '.join(noisy)}; "
        "absolute numbers are depressed and noisy there. Compare ratios, or run on a quiet machine."
    )


def _measure_size(args, bookings: int, suffix: str, password_for_run: str):
    """Build (or reuse) a database of `bookings`, serve it and measure every endpoint: (results, report,
    target, database description, server), or an exit code when the run failed."""
    from bench.build import AGENT_EMAIL, OPERATIONS_EMAIL, build
    from bench.database import target_for
    from bench.load import check, login
    from bench.server import Gunicorn

    secret_key = os.environ["PORTAL_SECRET_KEY"]
    target = target_for(args.database_url, args.keep, RESULTS, suffix)
    server = None
    password = password_for_run  # this run's password for the two bench users
    results = []
    try:
        database = target.description
        if target.dialect == "postgresql":
            database += f" (server {target.server_version()})"
        report = build(target, bookings, keep=args.keep, password=password, seed=args.seed)
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in report.steps.items())
        print(
            f"Database: {database}\n"
            f"Build: {'reused, ' if report.reused else ''}{report.seconds:.1f} s ({steps})\n"
            f"Rows: " + ", ".join(f"{k} {v:,}" for k, v in report.rows.items()),
            flush=True,
        )

        server = Gunicorn(ROOT, target.url_string, secret_key, args.workers, RESULTS / "gunicorn.log")
        server.start()
        print(f"Serving: gunicorn {' '.join(server.command()[1:])} (log {server.log_path.relative_to(ROOT)})")

        agent = login(server.port, AGENT_EMAIL, password)
        operations = login(server.port, OPERATIONS_EMAIL, password)
        plan = endpoints(agent, operations, report.order_numbers, report.api_key, report.refund_orders)
        if len(report.refund_orders) < MIN_REFUND_ORDERS:
            # A kept database whose bookings earlier runs refunded: the row would measure nothing.
            plan = [endpoint for endpoint in plan if endpoint.step is None]
            print(f"  API quote + refund: skipped, {len(report.refund_orders)} bookings left to refund")
        for endpoint in plan:
            text = check(server.port, endpoint)
            if endpoint.name.startswith(("my bookings", "search")):
                print(f"  {endpoint.name}: {showing(text)}")

        results = measure_in_rounds(server, plan, args, target.server_pids)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"\nBENCHMARK FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if server is not None:
            server.stop()
        target.finish()
    return results, report, target, database, server


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(ROOT)
    RESULTS.mkdir(exist_ok=True)
    # One secret for this run: the build's app and both gunicorn workers sign sessions alike, and no
    # instance/secret_key is written.
    secret_key = secrets.token_hex(32)
    os.environ["PORTAL_SECRET_KEY"] = secret_key
    os.environ["PORTAL_SCHEDULER"] = "off"
    os.environ["PORTAL_API_RATE_LIMIT"] = str(10**9)  # the bench measures speed, not the per-key limit
    if (ROOT / "instance" / "config.py").exists():
        print("warning: instance/config.py exists; gunicorn's workers read it and it may override settings.")

    # SIGTERM stops the run like Ctrl-C does: the finally block stops gunicorn and drops the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    runs: dict[int, list] = {}
    for size in args.sizes:
        suffix = "" if size == args.sizes[-1] else f"-{size}"
        outcome = _measure_size(args, size, suffix, password_for_run=secrets.token_urlsafe(18))
        if isinstance(outcome, int):
            return outcome
        results, report, target, database, server = outcome
        runs[size] = results
        if size != args.sizes[-1]:
            print(f"\n{size:,} bookings:\n{format_table(results, results[0].rps)}\n", flush=True)

    print()
    print(format_table(results, results[0].rps))
    print(
        f"\nBuild time: {report.seconds:.1f} s for {args.bookings:,} bookings on {target.dialect}"
        + (" (reused with --keep)" if report.reused else "")
    )
    warning = noise_warning(results)
    if warning:
        print(warning)

    if len(runs) > 1:
        print("\nThe same pages at every size (ratio to /healthz; spread = (max - min) / max, goal < 25%):")
        print(flatness_table(runs))

    document = result_document(args, target, database, report, results)
    if len(runs) > 1:
        document["sizes"] = {
            str(n): {r.endpoint: round(ratio_of(r, rs[0].rps), 3) if rs[0].rps else None for r in rs}
            for n, rs in runs.items()
        }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"Written: {args.output.relative_to(ROOT) if args.output.is_relative_to(ROOT) else args.output}")

    errors = sum(r.errors for rs in runs.values() for r in rs)
    if errors:
        bar = "!" * 78
        print(
            f"\n{bar}\n!!! {errors} request(s) did not answer 200: these numbers are NOT valid.",
            file=sys.stderr,
        )
        for r in results:
            if r.errors:
                print(f"!!!   {r.endpoint}: {r.error_detail}", file=sys.stderr)
        print(f"!!! See {server.log_path.relative_to(ROOT)} for the server's side.\n{bar}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
