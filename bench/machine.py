"""How busy the machine was with other work while we measured (Linux /proc; None elsewhere).

A benchmark on a shared machine competes with whatever else runs; reporting the share of CPU used by
processes that are not ours (not this process, not gunicorn and its workers, not the PostgreSQL
backends serving the benchmark database) tells a clean run from a noisy one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

PROC = Path("/proc")


def _cpu_ticks() -> tuple[int, int] | None:
    """(busy, total) jiffies of all CPUs since boot."""
    try:
        fields = [int(x) for x in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already inside user time
    return total - idle, total


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in (PROC / str(pid) / "task" / str(pid) / "children").read_text().split()]
    except (OSError, ValueError):
        return []


def is_postgres(pid: int) -> bool:
    """A local PostgreSQL process (a backend pid from the server may name nothing, or another process,
    when the server runs elsewhere or in another pid namespace)."""
    try:
        return (PROC / str(pid) / "comm").read_text().startswith("postgres")
    except OSError:
        return False


def _process_ticks(pid: int) -> int:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return 0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)"
    return int(fields[11]) + int(fields[12])  # utime + stime


class CpuShare:
    """Start/stop sampling around a measurement: the share of all CPUs used by other processes."""

    def __init__(self, own_pids: list[int], database_pids: Callable[[], list[int]] = list):
        self.own_pids = own_pids
        self.database_pids = database_pids  # asked at start and stop: connections may come and go
        self._pids: set[int] = set()
        self._start: tuple[int, int, int] | None = None

    def _ours(self) -> int:
        pids = set(self.own_pids) | {os.getpid()}
        for pid in list(pids):
            pids.update(_children(pid))
        self._pids |= pids | set(self.database_pids())
        return sum(_process_ticks(pid) for pid in self._pids)

    def start(self) -> None:
        ticks = _cpu_ticks()
        self._start = (*ticks, self._ours()) if ticks else None

    def stop(self) -> float | None:
        """Fraction (0-1) of the machine's CPU time that went to other processes since start()."""
        ticks = _cpu_ticks()
        if self._start is None or ticks is None:
            return None
        busy0, total0, ours0 = self._start
        busy, total = ticks
        if total <= total0:
            return None
        others = (busy - busy0) - (self._ours() - ours0)
        return max(0.0, min(1.0, others / (total - total0)))
