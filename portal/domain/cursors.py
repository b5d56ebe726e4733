"""Opaque cursors for the API's lists: the position after the last row of a page (a time and an id, the
keys lists are ordered by), so the next page starts there however many rows arrive meanwhile."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from portal.domain.errors import DomainError

MAX_CURSOR = 200


def encode_cursor(moment: datetime, row_id: int) -> str:
    """The cursor of the position after (moment, row_id)."""
    raw = f"{moment.astimezone(UTC).isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The position a cursor of `encode_cursor` names; a DomainError (422, field "cursor") for anything
    else."""
    bad = DomainError("This cursor is not one the API gave: start again without it.", field="cursor")
    if not cursor or len(cursor) > MAX_CURSOR:
        raise bad
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, row_id = raw.split("|")
        moment = datetime.fromisoformat(when)
        number = int(row_id)
        if moment.tzinfo is None or not 1 <= number < 2**63:
            raise bad
        moment = moment.astimezone(UTC)  # an offset at the edge of time overflows here, not in the query
    except (ValueError, UnicodeDecodeError, binascii.Error, OverflowError):
        raise bad from None
    return moment, number
