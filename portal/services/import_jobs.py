"""Booking imports in the background: Admin → Import hands a large file to the job runner instead of
holding a web worker while a hundred thousand bookings are checked and written.

The upload is stored under UPLOAD_DIR/imports; the job `import-bookings` (portal/jobs.py) claims the
oldest waiting import, runs services.bookings.import_bookings on it in one transaction and records the
outcome with it. While it runs, its progress is written to a small file beside the upload (SQLite
allows one writer, and the import holds it): the page reads it from there. That file is also the import's
heartbeat: a running import with no progress for IMPORT_STALE_MINUTES lost its runner (killed, or the
machine went down; its transaction was rolled back with it), and is shown and recorded as interrupted,
its file kept so that an admin may run it again.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select

from portal.clock import utcnow
from portal.domain.errors import Conflict
from portal.extensions import db
from portal.models import ImportJob, User
from portal.models.imports import IMPORT_JOB_STATUSES
from portal.services.transitions import claim_rows

FOLDER = "imports"
ERROR_LIMIT = 1000  # errors kept of a refused file (the first ones, in file order)


@dataclass(frozen=True)
class Progress:
    """How far a running import is: bookings checked, and the share of the file read (0-100)."""

    bookings: int
    percent: int


def _folder() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"]) / FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_of(job: ImportJob) -> Path:
    return _folder() / job.storage_name


def _progress_file(job: ImportJob) -> Path:
    return _folder() / f"{job.storage_name}.progress"


def queue_import(stream: BinaryIO, file_name: str, *, by: User, now: datetime | None = None) -> ImportJob:
    """Store the uploaded file and queue its import (the caller commits)."""
    storage_name = secrets.token_hex(16) + ".json"
    path = _folder() / storage_name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        shutil.copyfileobj(stream, f, 1 << 20)
        size = f.tell()
    job = ImportJob(
        status="queued",
        file_name=(Path(file_name or "bookings.json").name or "bookings.json")[-200:],
        storage_name=storage_name,
        size=size,
        created_by_id=by.id,
        created_at=now or utcnow(),
    )
    db.session.add(job)
    db.session.flush()
    return job


def recent_imports(limit: int = 10) -> list[ImportJob]:
    """The latest background imports, newest first."""
    return list(db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))


def progress_of(job: ImportJob) -> Progress | None:
    """What a running import has done so far, or None before its first chunk."""
    try:
        data = json.loads(_progress_file(job).read_text())
    except (OSError, ValueError):
        return None
    return Progress(
        bookings=int(data["bookings"]), percent=min(100, int(data["read"] * 100 / max(job.size, 1)))
    )


def claim_next(now: datetime | None = None) -> ImportJob | None:
    """The oldest waiting import, now marked running (a conditional UPDATE: two runners never both take
    one); None when none waits. The caller commits."""
    for job_id in db.session.scalars(
        select(ImportJob.id).where(ImportJob.status == "queued").order_by(ImportJob.id)
    ):
        if claim_rows(
            ImportJob,
            [job_id],
            expected={"status": "queued"},
            values={"status": "running", "started_at": now or utcnow()},
        ):
            job = db.session.get(ImportJob, job_id)
            db.session.refresh(job)
            return job
    return None


def progress_writer(job: ImportJob, stream: BinaryIO) -> Callable[[int], None]:
    """A progress callback for import_bookings that records bookings done and bytes read beside the file."""
    target = _progress_file(job)
    partial = target.with_name(target.name + ".part")

    def write(done: int) -> None:
        partial.write_text(json.dumps({"bookings": done, "read": stream.tell()}))
        os.replace(partial, target)

    return write


INTERRUPTED = (
    "The import stopped without finishing (no progress for {minutes} minutes: its job runner was stopped); "
    "nothing was imported. Run it again when the job runner is back."
)


def _stale_after() -> timedelta:
    return timedelta(minutes=current_app.config["IMPORT_STALE_MINUTES"])


def last_sign_of_life(job: ImportJob) -> datetime | None:
    """When a running import last showed progress (its progress file), else when it was started."""
    try:
        return datetime.fromtimestamp(_progress_file(job).stat().st_mtime, UTC)
    except OSError:
        return job.started_at


def is_interrupted(job: ImportJob, now: datetime | None = None) -> bool:
    """Recorded as interrupted, or running without progress for IMPORT_STALE_MINUTES (its runner is gone:
    an import reports progress every CHUNK bookings, about every second)."""
    if job.may_run_again:
        return True
    if not job.is_running:
        return False
    seen = last_sign_of_life(job)
    return seen is None or seen < (now or utcnow()) - _stale_after()


def shown_status_label(job: ImportJob, now: datetime | None = None) -> str:
    """The status the page shows: an import whose runner is gone reads as interrupted before the next
    runner records it so."""
    return IMPORT_JOB_STATUSES["interrupted"] if is_interrupted(job, now) else job.status_label


def sweep_interrupted(now: datetime | None = None) -> int:
    """Record the running imports whose runner is gone as interrupted (a conditional UPDATE, so an import
    that finished meanwhile stays done), keeping their files; how many. The caller commits."""
    now = now or utcnow()
    stale = [
        job
        for job in db.session.scalars(select(ImportJob).where(ImportJob.status == "running"))
        if is_interrupted(job, now)
    ]
    minutes = int(_stale_after().total_seconds() // 60)
    swept = claim_rows(
        ImportJob,
        [job.id for job in stale],
        expected={"status": "running"},
        values={"status": "interrupted", "finished_at": now, "summary": INTERRUPTED.format(minutes=minutes)},
    )
    for job in stale:
        _progress_file(job).unlink(missing_ok=True)
        db.session.expire(job)
    return swept


def run_again(job_id: int, now: datetime | None = None) -> ImportJob:
    """Queue an interrupted import again, from its kept file (the caller commits). Refused (Conflict) for
    any other import, and for one whose runner may still be alive."""
    job = db.session.get(ImportJob, job_id)
    if job is None or not is_interrupted(job, now) or not file_of(job).exists():
        raise Conflict("This import cannot be run again: only an interrupted import can.")
    if not claim_rows(
        ImportJob,
        [job.id],
        expected={"status": job.status},
        values={"status": "queued", "started_at": None, "finished_at": None, "summary": None},
    ):
        raise Conflict("This import changed meanwhile; look at the list again.")
    _progress_file(job).unlink(missing_ok=True)
    db.session.expire(job)
    return job


def finish_import(job: ImportJob, summary: str, now: datetime | None = None) -> None:
    """Record a completed import, in the import's own transaction (done if and only if it is committed)."""
    job.status = "done"
    job.summary = summary
    job.finished_at = now or utcnow()
    _remove_files(job)


def fail_import(job_id: int, errors: list[str], now: datetime | None = None) -> None:
    """Record a refused or broken import (after the caller rolled the import back)."""
    job = db.session.get(ImportJob, job_id)
    job.status = "failed"
    shown = errors[:ERROR_LIMIT]
    if len(errors) > ERROR_LIMIT:
        shown.append(f"… and {len(errors) - ERROR_LIMIT:,} more errors")
    job.summary = f"{len(errors)} error(s); nothing was imported."
    job.errors = "\n".join(shown)
    job.finished_at = now or utcnow()
    _remove_files(job)


def _remove_files(job: ImportJob) -> None:
    file_of(job).unlink(missing_ok=True)
    _progress_file(job).unlink(missing_ok=True)
