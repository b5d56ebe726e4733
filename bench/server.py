"""The production server for the benchmark: gunicorn serving wsgi:app on a free local port."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.load import HOST


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Gunicorn:
    """`gunicorn -w N -b 127.0.0.1:PORT wsgi:app`, started in its own process group and always stopped."""

    def __init__(self, root: Path, database_url: str, secret_key: str, workers: int, log_path: Path):
        self.root = root
        self.database_url = database_url
        self.secret_key = secret_key
        self.workers = workers
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._log = None

    def command(self) -> list[str]:
        gunicorn = Path(sys.executable).with_name("gunicorn")  # the same virtualenv as this Python
        return [str(gunicorn), "-w", str(self.workers), "-b", f"{HOST}:{self.port}", "wsgi:app"]

    def start(self, timeout: float = 60.0) -> None:
        self.port = free_port()
        env = dict(os.environ)
        env.update(
            PORTAL_DATABASE_URL=self.database_url,
            PORTAL_SECRET_KEY=self.secret_key,  # one key for both workers: they share sessions
            PORTAL_SCHEDULER="off",
        )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(  # noqa: S603 (our own fixed command line)
            self.command(),
            cwd=self.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop gunicorn in order
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            if self._healthy():
                return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {timeout:.0f} s:\n{self.log_tail()}")

    def _healthy(self) -> bool:
        conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown: master stops its workers
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # our own process group: master and its workers
                process.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None
