"""Booking imports in the background: Admin → Import hands a large file to the job runner instead of
holding a web worker while a hundred thousand bookings are checked and written.

The upload is stored under UPLOAD_DIR/imports; the job `import-bookings` (portal/jobs.py) claims the
oldest waiting import, runs services.bookings.import_bookings on it in one transaction and records the
outcome with it. While it runs, its progress is written to a small file beside the upload (SQLite
allows one writer, and the import holds it): the page reads it from there.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select

from portal.clock import utcnow
from portal.extensions import db
from portal.models import ImportJob, User
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
