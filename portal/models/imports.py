"""Booking imports run by the job runner (Admin → Import, for files too large to import while the page
waits): the upload is kept on disk until the job has read it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import utcnow
from portal.extensions import db
from portal.models.types import UTCDateTime

IMPORT_JOB_STATUSES = {
    "queued": "Waiting for the job runner",
    "running": "Importing",
    "done": "Imported",
    "failed": "Nothing was imported",
    "interrupted": "Interrupted: nothing was imported",
}


class ImportJob(db.Model):
    __tablename__ = "import_job"
    __table_args__ = (
        CheckConstraint(
            "status in ('queued', 'running', 'done', 'failed', 'interrupted')", name="status_known"
        ),
        # The runner takes the oldest waiting import.
        Index("ix_import_job_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="queued")
    file_name: Mapped[str] = mapped_column(String(200))
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the import did (ImportResult.summary()), or every error of a refused file, one a line.
    summary: Mapped[str | None] = mapped_column(Text)
    errors: Mapped[str | None] = mapped_column(Text)

    @property
    def status_label(self) -> str:
        return IMPORT_JOB_STATUSES[self.status]

    @property
    def is_active(self) -> bool:
        """Waiting or importing: the page keeps asking for its progress."""
        return self.status in ("queued", "running")

    @property
    def is_running(self) -> bool:
        return self.status == "running"

    @property
    def may_run_again(self) -> bool:
        """Its runner stopped mid-import (services.import_jobs.sweep_interrupted): the file is kept."""
        return self.status == "interrupted"

    @property
    def error_list(self) -> list[str]:
        return self.errors.splitlines() if self.errors else []
