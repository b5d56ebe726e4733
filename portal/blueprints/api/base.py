"""The agency API's base: the blueprint, bearer keys and the rate limit on every call, problem documents
for every error, and the small helpers every endpoint module uses (the key's user and Scope, cursor pages,
documented problems). The endpoints live in one module per area (bookings, webhook_endpoints, …) and
views.py registers them all."""

from __future__ import annotations

import json

from flask import g, request
from flask_smorest import Api, Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import HTTPException

from portal.blueprints.api.schemas import Problem
from portal.domain.cursors import decode_cursor, encode_cursor
from portal.domain.errors import DomainError
from portal.errors import PROBLEM_TYPE, problem, problem_for
from portal.models import User
from portal.services.api_keys import admit_call, authenticate_key
from portal.services.scope import Scope

SECURITY_SCHEME = "bearerAuth"


class PortalApi(Api):
    """flask-smorest's Api, documenting errors as RFC 9457 problems. It registers no app-wide error
    handler: the pages keep theirs, and the API blueprint answers its own errors as problems."""

    ERROR_SCHEMA = Problem

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        # The error responses it documents for every status are problem documents.
        default = self.DEFAULT_RESPONSE_CONTENT_TYPE
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_TYPE
        try:
            super()._register_responses()
        finally:
            self.DEFAULT_RESPONSE_CONTENT_TYPE = default


class ApiParser(FlaskParser):
    """webargs' parser, refusing a JSON body nested too deeply for Python's decoder as it refuses any
    other JSON it cannot read (a 400 problem), rather than failing the call with a RecursionError."""

    def _raw_load_json(self, req):
        try:
            return super()._raw_load_json(req)
        except RecursionError as exc:
            raise json.JSONDecodeError("The JSON body is nested too deeply.", doc="…", pos=0) from exc


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = ApiParser()


bp = ApiBlueprint(
    "api",
    __name__,
    url_prefix="/api/v1",
    description="The portal's post-ticketing functions for an agency's own systems.",
)


def problems(*statuses: int):
    """Document the problem documents an operation may answer with."""

    def decorator(view):
        for status in statuses:
            view = bp.alt_response(status, schema=Problem, content_type=PROBLEM_TYPE)(view)
        return view

    return decorator


# --- every call: the key, the rate limit ---------------------------------------------------------------


def _bearer() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


@bp.before_request
def authenticate():
    """Every call names its key; the key and its user are looked up each time, so a revoked key or a
    disabled user is refused at once in every worker. A browser session does not authenticate."""
    key = authenticate_key(_bearer())
    if key is None:
        return problem(
            401,
            "Send a live API key as 'Authorization: Bearer <key>'.",
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    admission = admit_call(key)
    if not admission.allowed:
        return problem(
            429,
            "Too many calls with this key this minute. Try again after Retry-After seconds.",
            headers={"Retry-After": str(admission.retry_after)},
        )
    g.api_user = key.user
    return None


@bp.after_request
def no_store(response):
    # Answers carry customers' personal data: never keep them in shared or disk caches.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def actor() -> User:
    """The user the call's key belongs to."""
    return g.api_user


def scope() -> Scope:
    return Scope.of(actor())


# --- errors as problem documents -----------------------------------------------------------------------


def _field_errors(messages, prefix: str = "") -> list[dict[str, str]]:
    """webargs' {location: {field: [messages]}} (nested for nested fields) as [{field, message}]."""
    out = []
    for name, value in messages.items():
        field = f"{prefix}{name}" if name != "_schema" else prefix.rstrip(".") or "body"
        if isinstance(value, dict):
            out.extend(_field_errors(value, f"{field}."))
        else:
            out.extend({"field": field, "message": str(m)} for m in value)
    return out


@bp.errorhandler(400)  # before the app's 400 page, which would answer "go back and try again"
@bp.errorhandler(HTTPException)
def http_problem(error: HTTPException):
    data = getattr(error, "data", None) or {}
    if error.code == 422 and "messages" in data:
        # The location (query, json, …) is not part of the field's name.
        errors = [e for location in data["messages"].values() for e in _field_errors(location)]
        return problem(422, "The request has invalid input; see errors.", errors=errors)
    if error.code == 400 and "json" in data.get("messages", {}):
        detail = "The body is not JSON this API can read (malformed, not UTF-8, or nested too deeply)."
        return problem(400, detail, errors=[{"field": "body", "message": detail}])
    detail = {
        404: "There is nothing here, or it is not available to your account.",
        405: "This method is not available on this path.",
    }.get(error.code, error.description)
    return problem(error.code, detail)


@bp.errorhandler(DomainError)
def domain_problem(error: DomainError):
    return problem_for(error)


def not_found(field: str, what: str):
    """A body naming an object that is not there, or is another account's: a 404 (as in a path) that
    names the field."""
    detail = f"There is no {what} with this {field} in your account."
    return problem(404, detail, errors=[{"field": field, "message": detail}])


# --- cursor pages --------------------------------------------------------------------------------------


def after_cursor(cursor: str | None):
    """The position a `cursor` query parameter names (a bad cursor is a 422 that names it)."""
    return decode_cursor(cursor) if cursor is not None else None


def cursor_page(page) -> dict:
    """A services.paging Slice as `{"data": [...], "next_cursor": "..." | null}`."""
    return {"data": page.items, "next_cursor": encode_cursor(*page.next_after) if page.next_after else None}


class Shown:
    """An object with extra attributes for its response schema (e.g. a booking with its coupons, a new
    webhook endpoint with its secret shown once): attributes not given are read from the object."""

    def __init__(self, obj, **extra):
        self._obj = obj
        self.__dict__.update(extra)

    def __getattr__(self, name):
        return getattr(self._obj, name)
