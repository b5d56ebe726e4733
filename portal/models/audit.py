"""Append-only records: refund events and ledger entries are written once and never changed."""

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.models.ledger import LedgerEntry
from portal.models.refunds import RefundEvent

APPEND_ONLY = (RefundEvent, LedgerEntry)


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete an audit record; a correction must be a new record."""


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_append_only(session, flush_context, instances):
    for obj in session.deleted:
        if isinstance(obj, APPEND_ONLY):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only and cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, APPEND_ONLY) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only and cannot be changed")
