"""One table from a domain refusal to its HTTP status: pages and the API answer the same way. And the
API's answer for every error: an RFC 9457 problem document."""

from __future__ import annotations

from http import HTTPStatus

from flask import Response, json

from portal.domain.errors import Conflict, DomainError, NotPermitted

# First match wins, so the more specific kinds come first.
STATUS_BY_KIND: tuple[tuple[type[DomainError], int], ...] = (
    (NotPermitted, 403),
    (Conflict, 409),
    (DomainError, 422),
)

PROBLEM_TYPE = "application/problem+json"


def status_for(error: DomainError) -> int:
    """The HTTP status of a refusal: 403 not permitted, 409 conflict with the current state, 422 invalid."""
    for kind, status in STATUS_BY_KIND:
        if isinstance(error, kind):
            return status
    raise TypeError(f"not a domain error: {error!r}")


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An RFC 9457 problem document (type, title, status, detail; `errors` [{field, message}] for invalid
    input). The type is about:blank: the status and its title say what kind of problem it is."""
    body = {"type": "about:blank", "title": HTTPStatus(status).phrase, "status": status, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE, headers=headers)


def problem_for(error: DomainError) -> Response:
    """The problem document of a domain refusal, with its status from the one table; under its field."""
    field = getattr(error, "field", None)
    errors = [{"field": field, "message": str(error)}] if field else None
    return problem(status_for(error), str(error), errors=errors)
