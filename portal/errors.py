"""One table from a domain refusal to its HTTP status: pages and the API answer the same way."""

from __future__ import annotations

from portal.domain.errors import Conflict, DomainError, NotPermitted

# First match wins, so the more specific kinds come first.
STATUS_BY_KIND: tuple[tuple[type[DomainError], int], ...] = (
    (NotPermitted, 403),
    (Conflict, 409),
    (DomainError, 422),
)


def status_for(error: DomainError) -> int:
    """The HTTP status of a refusal: 403 not permitted, 409 conflict with the current state, 422 invalid."""
    for kind, status in STATUS_BY_KIND:
        if isinstance(error, kind):
            return status
    raise TypeError(f"not a domain error: {error!r}")
