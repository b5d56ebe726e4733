"""Issue 16: a long import-bookings shows a progress line on a terminal (bookings done, rate, time left)
and prints nothing of the kind when its output is a log or a pipe."""

import io
import json

from portal.cli import ProgressLine
from portal.services import bookings as service
from portal.services.bookings import import_bookings
from tests.conftest import AIRLINES, booking_doc


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def _file(numbers) -> bytes:
    doc = {"format": "portal-bookings/1", "airlines": AIRLINES, "bookings": [booking_doc(n) for n in numbers]}
    return json.dumps(doc).encode()


def test_on_a_terminal_the_line_shows_bookings_done_rate_and_time_left():
    stream, out, clock = io.BytesIO(b"x" * 1000), Terminal(), Clock()
    line = ProgressLine(stream, 1000, out, clock=clock)
    assert line.shown
    stream.seek(250)  # a quarter of the file read in 4 s: 12 s to go
    clock.now += 4
    line.update(2000)
    stream.seek(1000)
    clock.now += 12
    line.update(8000)
    line.clear()
    assert out.getvalue() == (
        "\r2,000 bookings checked · 500/s · 12 s left\x1b[K"
        "\r8,000 bookings checked · 500/s · 0 s left\x1b[K"
        "\r\x1b[K"
    )


def test_a_long_import_gives_minutes():
    stream, out, clock = io.BytesIO(b"x" * 1000), Terminal(), Clock()
    line = ProgressLine(stream, 1000, out, clock=clock)
    stream.seek(100)
    clock.now += 20
    line.update(40_000)
    assert "40,000 bookings checked · 2,000/s · 3 min 00 s left" in out.getvalue()


def test_not_a_terminal_nothing_is_shown():
    out = io.StringIO()
    line = ProgressLine(io.BytesIO(b"{}"), 2, out)
    assert not line.shown
    line.clear()
    assert out.getvalue() == ""


def test_the_import_reports_progress_after_each_chunk(db, make, monkeypatch):
    monkeypatch.setattr(service, "CHUNK", 2)
    make.account("DEMO", "SGD")
    seen = []
    import_bookings(_file([f"AT4000000{i}" for i in range(5)]), progress=seen.append)
    assert seen == [2, 4, 5]


def test_the_command_prints_no_progress_into_a_log(runner, db, make, tmp_path, monkeypatch):
    monkeypatch.setattr(service, "CHUNK", 2)
    make.account("DEMO", "SGD")
    path = tmp_path / "bookings.json"
    path.write_bytes(_file([f"AT4000001{i}" for i in range(5)]))
    result = runner.invoke(args=["import-bookings", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        result.output
        == "5 booking(s) created, 0 updated, 0 schedule change(s) recorded, 2 airline(s) upserted.\n"
    )
