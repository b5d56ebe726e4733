"""Service requests over the API: the categories to raise, raising one (JSON, or multipart with
attachments), the list and a request with its thread as the agency sees it, replies, and the answers to
an operations quote. The same services as the pages (services/requests, services/catalogues)."""

from __future__ import annotations

import marshmallow as ma

from portal.blueprints.api.base import Shown, actor, after_cursor, bp, cursor_page, not_found, problems, scope
from portal.blueprints.api.idempotency import idempotent
from portal.blueprints.api.requests_schemas import (
    Attachments,
    CategoryList,
    MessageForm,
    MessageInput,
    QuoteAccepted,
    RequestDetails,
    RequestForm,
    RequestInput,
    RequestPage,
    RequestQuery,
    ThreadEntrySchema,
)
from portal.blueprints.api.schemas import Strict
from portal.clock import utcnow
from portal.errors import problem_for
from portal.models import ServiceRequest
from portal.security import found
from portal.services.bookings import load_booking
from portal.services.catalogues import category_tree, offered_category_by_code
from portal.services.requests import (
    RequestFilters,
    accept_quote,
    create_request,
    decline_quote,
    load_request,
    post_message,
    search_requests_after,
    thread,
)
from portal.uow import attempt


def json_or_multipart(schema, form_schema):
    """The body as JSON (`schema`), or as multipart/form-data with the same fields and `attachments`
    (files): both parsed with the API's parser (unknown fields refused) and both documented. The view gets
    `body` and `files` keyword arguments."""
    parser = bp.ARGUMENTS_PARSER
    documented = bp.doc(
        requestBody={
            "required": True,
            "content": {
                "application/json": {"schema": schema},
                "multipart/form-data": {"schema": form_schema},
            },
        }
    )

    def decorator(view):
        view = parser.use_args(Attachments, location="files", unknown=ma.RAISE, arg_name="files")(view)
        view = parser.use_args(schema, location="json_or_form", unknown=ma.RAISE, arg_name="body")(view)
        return documented(view)

    return decorator


def _request(number: str) -> ServiceRequest:
    return found(load_request(number, scope()))


def _details(req: ServiceRequest, **extra) -> Shown:
    """A request as the agency sees it: its thread without operations' internal notes, and its quotes with
    whether they may be answered now."""
    now = utcnow()
    quotes = [Shown(quote, may_answer=quote.agency_may_answer(now)) for quote in req.quotes]
    return Shown(req, thread=thread(req, staff=False), quotes=quotes, **extra)


# --- categories ----------------------------------------------------------------------------------------


@bp.route("/request-categories", methods=["GET"])
@bp.arguments(Strict, location="query", unknown=ma.RAISE)
@bp.response(200, CategoryList)
@problems(400, 401, 422, 429)
def list_request_categories(_no_parameters):
    """The active categories, in their groups as Raise a Request offers them: each with the `code` to send
    in POST /requests and what raising it needs and does."""
    groups = [Shown(group, categories=categories) for group, categories in category_tree(active_only=True)]
    return {"data": groups}


# --- raising, listing, reading -------------------------------------------------------------------------


@bp.route("/requests", methods=["POST"])
@idempotent
@json_or_multipart(RequestInput, RequestForm)
@bp.response(201, RequestDetails)
@problems(400, 401, 403, 409, 422, 429)
def create_service_request(body, files):
    """Raise a request on a booking of your account, as Raise a Request does. One open request per booking
    and category: a second is a 409 naming the open one. An Agent & Passenger Initiated Refund creates its
    refund at once (listed in `refunds`)."""
    booking = load_booking(body["order_number"], scope())
    if booking is None:
        return not_found("order_number", "booking")
    with attempt() as outcome:
        req = create_request(
            booking,
            offered_category_by_code(body["category"]),
            user=actor(),
            description=body["description"],
            passenger_refs=body["passengers"],
            files=files["attachments"],
        )
    if outcome.failed:
        return problem_for(outcome.error)
    return _details(req)


@bp.route("/requests", methods=["GET"])
@bp.arguments(RequestQuery, location="query", unknown=ma.RAISE, as_kwargs=True)
@bp.response(200, RequestPage)
@problems(400, 401, 422, 429)
def list_service_requests(limit, cursor=None, status="", q=""):
    """Your account's requests, newest raised first, a page at a time; `status=open` for those not yet
    completed or cancelled."""
    filters = RequestFilters(q=q.strip(), status=status)
    return cursor_page(search_requests_after(filters, scope(), after_cursor(cursor), limit))


@bp.route("/requests/<number>", methods=["GET"])
@bp.arguments(Strict, location="query", unknown=ma.RAISE)
@bp.response(200, RequestDetails)
@problems(400, 401, 404, 422, 429)
def get_service_request(_no_parameters, number):
    """A request: its status, the thread as your agency sees it, its quotes (with their lines and expiry)
    and what you may do now (`may_reply`, `may_cancel`, each quote's `may_answer`)."""
    return _details(_request(number))


# --- the agency's answers ------------------------------------------------------------------------------


@bp.route("/requests/<number>/messages", methods=["POST"])
@idempotent
@json_or_multipart(MessageInput, MessageForm)
@bp.response(201, ThreadEntrySchema)
@problems(400, 401, 403, 404, 409, 422, 429)
def post_request_message(body, files, number):
    """Reply in the request's thread (with attachments as multipart/form-data). A reply to a processed
    request returns it to in process; a completed or cancelled one takes no reply (409)."""
    req = _request(number)
    with attempt() as outcome:
        message = post_message(req, user=actor(), body=body["body"], files=files["attachments"])
    if outcome.failed:
        return problem_for(outcome.error)
    return Shown(message, kind="message", attachments=message.documents, event=None)


def _quote(req: ServiceRequest, quote_id: int):
    return found(req.quote_by_id(quote_id))


@bp.route("/requests/<number>/quotes/<int:quote_id>/accept", methods=["POST"])
@idempotent
@bp.response(201, QuoteAccepted)
@problems(400, 401, 403, 404, 409, 422, 429)
def accept_request_quote(number, quote_id):
    """Accept an operations quote: the refund is requested with the quoted amounts (`refund_code`). A quote
    already answered, replaced or expired is a 409."""
    req = _request(number)
    quote = _quote(req, quote_id)
    with attempt() as outcome:
        refund = accept_quote(req, quote, user=actor())
    if outcome.failed:
        return problem_for(outcome.error)
    return _details(req, refund_code=refund.code)


@bp.route("/requests/<number>/quotes/<int:quote_id>/decline", methods=["POST"])
@idempotent
@bp.response(200, RequestDetails)
@problems(400, 401, 403, 404, 409, 422, 429)
def decline_request_quote(number, quote_id):
    """Decline an operations quote; operations follow up in the thread. A quote already answered, replaced
    or expired is a 409."""
    req = _request(number)
    quote = _quote(req, quote_id)
    with attempt() as outcome:
        decline_quote(req, quote, user=actor())
    if outcome.failed:
        return problem_for(outcome.error)
    return _details(req)
