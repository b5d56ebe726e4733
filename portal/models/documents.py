"""Uploaded documents (refund proofs, request attachments), stored on disk under random names."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.clock import utcnow
from portal.extensions import db
from portal.models.types import UTCDateTime


class Document(db.Model):
    __tablename__ = "document"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    storage_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def file_name(self) -> str:
        """The name shown and downloaded: the uploader's name with the extension of what the file is.

        The content decides the type ("poly.html" holding a PNG is "poly.png"), so a download can never be
        opened as something else than what was checked.
        """
        return name_for_type(self.original_name, self.content_type)


# What each accepted type is called on disk and in downloads; the first extension is the one given.
EXTENSIONS = {"application/pdf": (".pdf",), "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg")}


def name_for_type(name: str, content_type: str) -> str:
    """`name` with an extension that matches `content_type` (kept when it already does)."""
    extensions = EXTENSIONS[content_type]
    stem, dot, suffix = name.rpartition(".")
    if dot and f".{suffix.lower()}" in extensions:
        return name
    return f"{stem if dot else name}{extensions[0]}"
