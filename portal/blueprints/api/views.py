"""The agency API (/api/v1): bearer keys, problem documents, and endpoints that call the same services as
the pages. Views stay thin: validate with the schemas, load in the key user's Scope, call one service,
return what the response schema dumps. The OpenAPI document is generated from these schemas by
flask-smorest and served, without a key, at /api/v1/openapi.json."""

from __future__ import annotations

from dataclasses import dataclass

import marshmallow as ma
from flask import g, request
from flask_smorest import Api, Blueprint
from werkzeug.exceptions import HTTPException

from portal.blueprints.api.schemas import (
    BookingDetails,
    BookingPage,
    BookingQuery,
    ListQuery,
    Problem,
    Strict,
    WebhookEndpointCreated,
    WebhookEndpointInput,
    WebhookEndpointPage,
)
from portal.clock import utcnow
from portal.domain.cursors import decode_cursor, encode_cursor
from portal.domain.errors import DomainError
from portal.errors import PROBLEM_TYPE, problem, problem_for
from portal.models import Booking, User
from portal.security import found
from portal.services.api_keys import admit_call, authenticate_key
from portal.services.bookings import BookingFilters, load_booking, search_bookings_after
from portal.services.coupons import Coupon, booking_coupons
from portal.services.scope import Scope
from portal.services.webhooks import create_endpoint, delete_endpoint, endpoints_after, load_endpoint
from portal.uow import attempt

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


bp = Blueprint(
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


@bp.errorhandler(HTTPException)
def http_problem(error: HTTPException):
    data = getattr(error, "data", None) or {}
    if error.code == 422 and "messages" in data:
        # The location (query, json, …) is not part of the field's name.
        errors = [e for location in data["messages"].values() for e in _field_errors(location)]
        return problem(422, "The request has invalid input; see errors.", errors=errors)
    detail = {
        404: "There is nothing here, or it is not available to your account.",
        405: "This method is not available on this path.",
    }.get(error.code, error.description)
    return problem(error.code, detail)


@bp.errorhandler(DomainError)
def domain_problem(error: DomainError):
    return problem_for(error)


# --- bookings ------------------------------------------------------------------------------------------


@bp.route("/bookings", methods=["GET"])
@bp.arguments(BookingQuery, location="query", unknown=ma.RAISE, as_kwargs=True)
@bp.response(200, BookingPage)
@problems(401, 429)
def list_bookings(limit, cursor=None, q="", status=None, departure_from=None, departure_to=None):
    """My Bookings: the same prefix search and filters, newest issued first, a page at a time."""
    filters = BookingFilters(
        q=q.strip(), status=status, departure_from=departure_from, departure_to=departure_to
    )
    after = decode_cursor(cursor) if cursor is not None else None
    page = search_bookings_after(filters, scope(), after, limit)
    return {"data": page.items, "next_cursor": encode_cursor(*page.next_after) if page.next_after else None}


@dataclass
class _Details:
    """A booking with its coupons, as BookingDetails dumps it."""

    booking: Booking
    coupons: list[Coupon]

    def __getattr__(self, name):
        return getattr(self.booking, name)


@bp.route("/bookings/<order_number>", methods=["GET"])
@bp.arguments(Strict, location="query", unknown=ma.RAISE)
@bp.response(200, BookingDetails)
@problems(401, 404, 422, 429)
def get_booking(_no_parameters, order_number):
    """Booking details: passengers with their tickets and fares, segments, and every coupon's refund
    state. Another account's booking is a 404, as an unknown one is."""
    booking = found(load_booking(order_number, scope()))
    coupons = [coupon for _, row in booking_coupons(booking, utcnow()) for coupon in row]
    return _Details(booking, coupons)


# --- webhook endpoints ---------------------------------------------------------------------------------


@dataclass
class _Created:
    """A new endpoint with its secret, as WebhookEndpointCreated dumps it (the secret only here)."""

    endpoint: object
    secret: str

    def __getattr__(self, name):
        return getattr(self.endpoint, name)


@bp.route("/webhook-endpoints", methods=["POST"])
@bp.arguments(WebhookEndpointInput)
@bp.response(201, WebhookEndpointCreated)
@problems(401, 403, 422, 429)
def create_webhook_endpoint(body):
    """A new endpoint of your account: the events you name are POSTed to it, signed with the secret this
    answer shows once. Only https:// URLs on public addresses."""
    with attempt() as outcome:
        endpoint, secret = create_endpoint(actor(), scope(), body["url"], body["events"])
    if outcome.failed:
        return problem_for(outcome.error)
    return _Created(endpoint, secret)


@bp.route("/webhook-endpoints", methods=["GET"])
@bp.arguments(ListQuery, location="query", unknown=ma.RAISE, as_kwargs=True)
@bp.response(200, WebhookEndpointPage)
@problems(401, 429)
def list_webhook_endpoints(limit, cursor=None):
    """Your account's endpoints, newest first, a page at a time."""
    after = decode_cursor(cursor) if cursor is not None else None
    page = endpoints_after(scope(), after, limit)
    return {"data": page.items, "next_cursor": encode_cursor(*page.next_after) if page.next_after else None}


@bp.route("/webhook-endpoints/<int:endpoint_id>", methods=["DELETE"])
@bp.response(204)
@problems(401, 404, 409, 429)
def delete_webhook_endpoint(endpoint_id):
    """Stop sending to an endpoint. Another account's is a 404, as an unknown one is."""
    endpoint = found(load_endpoint(endpoint_id, scope()))
    with attempt() as outcome:
        delete_endpoint(endpoint, actor=actor())
    if outcome.failed:
        return problem_for(outcome.error)
    return None


def init_app(app) -> PortalApi:
    """The API and its OpenAPI document (bearer keys on every operation)."""
    app.config.setdefault(
        "API_SPEC_OPTIONS",
        {
            "security": [{SECURITY_SCHEME: []}],
            "info": {"description": "See the README's API section for a walk-through."},
        },
    )
    api = PortalApi(app)
    api.spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "http", "scheme": "bearer", "description": "An API key: ptk_…"}
    )
    api.register_blueprint(bp)
    return api
