"""A small, bounded HTTP load generator: a few client threads, each with its own connection, running
closed-loop (next request when the previous answer is read) for a fixed time. Only 127.0.0.1."""

from __future__ import annotations

import http.client
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode

HOST = "127.0.0.1"


class Client:
    """One HTTP/1.1 connection (kept alive when the server allows it) and a cookie jar."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None, timeout: float = 30.0):
        self.port = port
        self.cookies = dict(cookies or {})
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def close(self) -> None:
        self.conn.close()

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closed an idle kept-alive connection: reconnect once.
                self.conn.close()
                if attempt == 2 or method != "GET":
                    raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, response.headers, data

    def get(self, path: str, headers: dict[str, str] | None = None):
        return self.request("GET", path, headers=headers)


class _CsrfField(HTMLParser):
    def __init__(self):
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") == "csrf_token":
            self.token = attrs.get("value")


def login(port: int, email: str, password: str) -> dict[str, str]:
    """Log in as a browser would; returns the session cookies."""
    client = Client(port)
    try:
        status, _, body = client.get("/login")
        if status != 200:
            raise RuntimeError(f"GET /login answered {status}")
        parser = _CsrfField()
        parser.feed(body.decode("utf-8", "replace"))
        if not parser.token:
            raise RuntimeError("GET /login: no csrf_token field in the form")
        form = urlencode({"email": email, "password": password, "csrf_token": parser.token}).encode()
        status, headers, body = client.request(
            "POST", "/login", body=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )
        if status != 303:
            raise RuntimeError(f"POST /login as {email} answered {status}, not 303: {body[:300]!r}")
        status, _, _ = client.get(headers.get("Location", "/bookings/"))
        if status != 200:
            raise RuntimeError(f"after logging in as {email}, the home page answered {status}")
        return client.cookies
    finally:
        client.close()


@dataclass
class Endpoint:
    name: str
    paths: list[str]  # rotated over, one after another
    cookies: dict[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: str | None = None  # text the body must contain (checked once, before the load)
    refuse: str | None = None  # text the body must not contain
    # A step of several calls instead of one GET: (client, k) -> the outcome ("200" when it all worked), or
    # None when it has nothing left to do (the row then ends with what it measured).
    step: Callable[[Client, int], str | None] | None = None

    @property
    def label_path(self) -> str:
        return self.paths[0] if len(self.paths) == 1 else f"{self.paths[0]} (+{len(self.paths) - 1} more)"


@dataclass
class Result:
    endpoint: str
    path: str
    requests: int
    seconds: float
    median_ms: float
    p95_ms: float
    errors: int
    error_detail: dict[str, int]
    others_cpu: float | None = None  # share of the machine's CPU used by other processes meanwhile
    # The median of the rounds' ratios to /healthz (bench.run.combined); None for a single measurement.
    ratio: float | None = None
    round_ratios: list[float] = field(default_factory=list)  # each round's ratio, in order
    ended: bool = False  # a step row that ran out of things to do (no booking left to refund)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def check(port: int, endpoint: Endpoint) -> str:
    """One request before the load: the right page, not a login form or an error page."""
    if endpoint.step is not None:
        return ""  # a step checks its own answers on every call
    client = Client(port, endpoint.cookies)
    try:
        status, _, body = client.get(endpoint.paths[0], endpoint.headers)
    finally:
        client.close()
    text = body.decode("utf-8", "replace")
    if status != 200:
        raise RuntimeError(f"{endpoint.name}: GET {endpoint.paths[0]} answered {status}")
    if endpoint.expect and endpoint.expect not in text:
        raise RuntimeError(f"{endpoint.name}: the answer lacks {endpoint.expect!r}")
    if endpoint.refuse and endpoint.refuse in text:
        raise RuntimeError(f"{endpoint.name}: the answer contains {endpoint.refuse!r}")
    return text


def measure(port: int, endpoint: Endpoint, *, threads: int, warmup: float, duration: float) -> Result:
    """Closed-loop load: `threads` clients, `warmup` seconds not counted, then `duration` counted.

    A request counts when it starts inside the measured window. Each thread goes on until it has
    at least one counted request, so an endpoint slower than the window still gets a number; the
    rate is counted requests over the time from the first counted start to the last counted end.
    """
    start_at = time.perf_counter() + 0.2  # every thread starts together
    measure_from = start_at + warmup
    stop_at = measure_from + duration
    samples: list[list[tuple[float, float]]] = [[] for _ in range(threads)]
    statuses: list[Counter] = [Counter() for _ in range(threads)]
    ended = threading.Event()

    def worker(index: int) -> None:
        client = Client(port, endpoint.cookies)
        paths = endpoint.paths
        k = index
        mine, seen = samples[index], statuses[index]
        while time.perf_counter() < start_at:
            time.sleep(0.001)
        try:
            while True:
                begin = time.perf_counter()
                if begin >= stop_at and mine:
                    break
                path = paths[k % len(paths)]
                k += threads
                try:
                    if endpoint.step is not None:
                        outcome = endpoint.step(client, k - threads)
                        if outcome is None:  # the step has nothing left to do (e.g. no booking to refund)
                            ended.set()
                            break
                    else:
                        status, _, _ = client.get(path, endpoint.headers)
                        outcome = str(status)
                except (OSError, http.client.HTTPException) as exc:
                    outcome = type(exc).__name__
                    client.close()
                end = time.perf_counter()
                if begin >= measure_from:
                    mine.append((begin, end))
                    seen[outcome] += 1
        finally:
            client.close()

    pool = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()

    spans = [s for part in samples for s in part]
    if not spans and ended.is_set() and endpoint.step is not None:
        # Ran out right at the start (a later round of a row whose bookings an earlier round used up).
        return Result(endpoint.name, endpoint.label_path, 0, 0.0, 0.0, 0.0, 0, {}, ended=True)
    if not spans:
        raise RuntimeError(f"{endpoint.name}: nothing was measured (its step had nothing to do at all)")
    ms = sorted((end - begin) * 1000 for begin, end in spans)
    elapsed = max(end for _, end in spans) - min(begin for begin, _ in spans)
    outcomes = sum(statuses, Counter())
    errors = {k: v for k, v in outcomes.items() if k != "200"}
    return Result(
        endpoint=endpoint.name,
        path=endpoint.label_path,
        requests=len(ms),
        seconds=elapsed,
        median_ms=statistics.median(ms),
        p95_ms=statistics.quantiles(ms, n=20)[-1] if len(ms) >= 2 else ms[0],
        errors=sum(errors.values()),
        error_detail=errors,
        ended=ended.is_set(),
    )
