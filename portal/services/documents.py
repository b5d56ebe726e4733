"""Uploads: checked by content, stored outside static/ under random names, never left orphaned."""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.domain.errors import DomainError
from portal.extensions import db
from portal.models import Document
from portal.models.documents import name_for_type
from portal.services.scope import Scope

# Magic numbers of the allowed types: the file's first bytes decide, never its name.
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)


PARTIAL = ".part"
OURS = re.compile(r"[0-9a-f]{32}\.(pdf|png|jpg)(\.part)?")
ORPHAN_AGE = timedelta(hours=1)


class UploadRejected(DomainError, ValueError):
    """The file cannot be accepted; the message says why, for the user."""


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size / 1024:g} KB"


def sniff(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, extension in SIGNATURES:
        if head.startswith(magic):
            return content_type, extension
    return None


def _upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_document(file_storage, *, account_id: int, uploaded_by_id: int) -> Document:
    """Check and store an uploaded file; the file is deleted again if the transaction rolls back."""
    if file_storage is None or not getattr(file_storage, "filename", None):
        raise UploadRejected("Choose a file to upload.")
    limit = current_app.config["MAX_UPLOAD_BYTES"]
    try:
        data = file_storage.stream.read(limit + 1)
    finally:
        file_storage.close()  # large uploads are spooled to a temporary file; release it now
    if not data:
        raise UploadRejected("The file is empty.")
    if len(data) > limit:
        raise UploadRejected(f"The file is larger than {human_size(limit)}.")
    kind = sniff(data[:16])
    if kind is None:
        raise UploadRejected("Only PDF, PNG or JPEG files are accepted (checked by content, not by name).")
    content_type, extension = kind
    storage_name = secrets.token_hex(16) + extension
    path = _upload_dir() / storage_name
    # Written under a temporary name and renamed whole: a worker killed mid-write leaves a ".part" file,
    # one killed before the commit leaves a file no row names; the sweep job removes both after an hour.
    partial = path.with_name(f"{storage_name}{PARTIAL}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(partial, path)
    db.session.info.setdefault("new_files", []).append(path)
    original = name_for_type(Path(file_storage.filename).name[-200:] or "document", content_type)
    document = Document(
        account_id=account_id,
        storage_name=storage_name,
        original_name=original,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by_id=uploaded_by_id,
    )
    db.session.add(document)
    db.session.flush()
    return document


def sweep_orphans(now: datetime | None = None, older_than: timedelta = ORPHAN_AGE) -> list[str]:
    """Remove upload files older than `older_than` that no document row names (a worker killed between
    writing the file and committing its row), and half-written ".part" files. Returns the names removed."""
    now = now or utcnow()
    folder = Path(current_app.config["UPLOAD_DIR"])
    if not folder.is_dir():
        return []
    cutoff = (now - older_than).timestamp()
    # Only names this module writes: the folder may be shared, and nothing else in it is ours to delete.
    old = [
        p for p in folder.iterdir() if OURS.fullmatch(p.name) and p.is_file() and p.stat().st_mtime < cutoff
    ]
    candidates = {p.name: p for p in old if not p.name.endswith(PARTIAL)}
    known: set[str] = set()
    names = sorted(candidates)
    for start in range(0, len(names), 1000):
        known.update(
            db.session.scalars(
                select(Document.storage_name).where(Document.storage_name.in_(names[start : start + 1000]))
            )
        )
    removed = []
    for p in old:
        if p.name.endswith(PARTIAL) or p.name not in known:
            p.unlink(missing_ok=True)
            removed.append(p.name)
    return sorted(removed)


def document_path(document: Document) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / document.storage_name


@event.listens_for(Session, "after_commit")
def _keep_files(session):
    # Only the request's own transaction decides; a savepoint released inside it is not a commit. (A file
    # saved inside a savepoint that rolls back stays until the sweep finds no row names it.)
    if session.in_nested_transaction():
        return
    session.info.pop("new_files", None)


@event.listens_for(Session, "after_rollback")
def _remove_orphans(session):
    # A failed action leaves no file behind: anything written in this transaction goes. A savepoint
    # rolled back inside it is not the end of the request: files saved before it may still be committed.
    if session.in_nested_transaction():
        return
    for path in session.info.pop("new_files", []):
        Path(path).unlink(missing_ok=True)


def load_document(document_id: int, scope: Scope) -> Document | None:
    """The document with this id in the scope; else None."""
    stmt = select(Document).where(Document.id == document_id)
    return db.session.scalar(scope.apply(stmt, Document.account_id))
