"""The API's schemas for service requests: the categories an agency may raise, raising one, the lists,
a request with its thread and quotes, replies and the answers to a quote."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from portal.blueprints.api.schemas import DEFAULT_LIMIT, LIST_LIMIT, Instant, Strict, money
from portal.domain.requests import RequestStatus
from portal.domain.text import describe_bad_character, has_control_characters
from portal.services.requests import MAX_ATTACHMENTS, MAX_DESCRIPTION, MAX_MESSAGE

MAX_PASSENGERS = 50
REQUEST_STATUS_FILTERS = ("open", *(s.value for s in RequestStatus))


class _NoControlCharacters(validate.Validator):
    """Refuse what no input of the portal accepts (a NUL byte, other C0 controls): forms and query
    strings are filtered before any view (portal/inputs.py), a JSON body is checked here."""

    def __init__(self, in_name: bool):
        self.in_name = in_name

    def __call__(self, value: str) -> str:
        if has_control_characters(value, in_name=self.in_name):
            raise ma.ValidationError(
                f"Remove the invisible control character {describe_bad_character(value)}: it is not accepted."
            )
        return value


def text(max_length: int, *, name: bool = False, **kwargs) -> fields.String:
    """A bounded string without control characters (names and codes: no line breaks either)."""
    return fields.String(
        validate=[validate.Length(max=max_length), _NoControlCharacters(in_name=name)], **kwargs
    )


# --- categories --------------------------------------------------------------------------------------


class CategorySchema(ma.Schema):
    code = fields.String(
        required=True,
        metadata={"example": "cancel_refund", "description": "Send it as `category` in POST /requests."},
    )
    label = fields.String(required=True, metadata={"example": "Cancel & Refund"})
    behaviour = fields.String(
        required=True, metadata={"description": "general, cancel_refund, agent_refund or baggage"}
    )
    needs_passengers = fields.Boolean(
        required=True,
        attribute="rule.needs_passengers",
        metadata={"description": "Name them in `passengers`."},
    )
    needs_description = fields.Boolean(required=True, attribute="rule.needs_description")
    takes_quote = fields.Boolean(
        required=True,
        attribute="rule.takes_quote",
        metadata={"description": "Operations post a quote you then accept or decline."},
    )
    creates_refund = fields.Boolean(
        required=True,
        attribute="rule.creates_refund",
        metadata={"description": "Raising it creates the refund of the passengers' unflown flights."},
    )
    hint = fields.String(required=True, attribute="rule.hint", metadata={"description": "What happens next."})


class CategoryGroupSchema(ma.Schema):
    code = fields.String(required=True, metadata={"example": "post_ticketing"})
    label = fields.String(required=True, metadata={"example": "Post-Ticketing Request"})
    categories = fields.List(fields.Nested(CategorySchema), required=True)


class CategoryList(ma.Schema):
    data = fields.List(fields.Nested(CategoryGroupSchema), required=True)


class CategoryRef(ma.Schema):
    code = fields.String(required=True)
    label = fields.String(required=True)
    group = fields.String(required=True, attribute="parent.label")


# --- raising a request, replying ------------------------------------------------------------------------


class RequestInput(Strict):
    order_number = text(20, name=True, required=True, metadata={"example": "AT10000001"})
    category = text(
        40,
        name=True,
        required=True,
        metadata={"example": "cancel_refund", "description": "A category `code` of GET /request-categories."},
    )
    description = text(
        MAX_DESCRIPTION,
        load_default="",
        metadata={"description": "Required unless the category says `needs_description: false`."},
    )
    passengers = fields.List(
        text(10, name=True),
        load_default=list,
        validate=validate.Length(max=MAX_PASSENGERS),
        metadata={"example": ["P1"], "description": "Passenger refs of the booking concerned."},
    )


class MessageInput(Strict):
    body = text(MAX_MESSAGE, required=True, metadata={"example": "The passenger's new passport is attached."})


class Attachments(Strict):
    """The files of a multipart/form-data call."""

    attachments = fields.List(
        Upload(),
        load_default=list,
        validate=validate.Length(max=MAX_ATTACHMENTS),
        metadata={"description": f"PDF, PNG or JPEG, up to {MAX_ATTACHMENTS} files."},
    )


class RequestForm(RequestInput, Attachments):
    """POST /requests as multipart/form-data: the same fields, with attachments."""


class MessageForm(MessageInput, Attachments):
    """A reply as multipart/form-data, with attachments."""


# --- reading -----------------------------------------------------------------------------------------


class RequestQuery(Strict):
    status = fields.String(
        validate=validate.OneOf(REQUEST_STATUS_FILTERS),
        metadata={"description": "open (new, in process or processed), or one status."},
    )
    q = text(40, name=True, metadata={"description": "The start of a request number or order number."})
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=LIST_LIMIT))
    cursor = text(200, name=True, metadata={"description": "`next_cursor` of the previous page."})


class PassengerRef(ma.Schema):
    ref = fields.String(required=True)


class RequestSummary(ma.Schema):
    number = fields.String(required=True, metadata={"example": "SR00000001"})
    status = fields.String(
        required=True, metadata={"description": "new, in_process, processed, completed or cancelled"}
    )
    category = fields.Nested(CategoryRef, required=True)
    order_number = fields.String(required=True, attribute="booking.order_number")
    passengers = fields.Pluck(PassengerRef, "ref", many=True, required=True)
    created_at = Instant(required=True)
    last_activity_at = Instant(required=True)


class RequestPage(ma.Schema):
    data = fields.List(fields.Nested(RequestSummary), required=True)
    next_cursor = fields.String(required=True, allow_none=True)


class DocumentSchema(ma.Schema):
    id = fields.Integer(required=True)
    file_name = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True, metadata={"description": "In bytes."})


class EventSchema(ma.Schema):
    status = fields.String(required=True, attribute="to_status")
    previous_status = fields.String(
        required=True, allow_none=True, attribute="from_status", metadata={"description": "Before it."}
    )
    note = fields.String(required=True, allow_none=True)


class ThreadEntrySchema(ma.Schema):
    """One entry of the thread as the agency sees it (never operations' internal notes)."""

    kind = fields.String(required=True, metadata={"description": "description, message or event"})
    at = Instant(required=True)
    author = fields.Function(
        lambda entry: entry.author.name if entry.author is not None else None,
        required=True,
        allow_none=True,
        metadata={"type": "string", "description": "Who wrote or did it; null for the portal itself."},
    )
    from_operations = fields.Boolean(required=True)
    body = fields.String(required=True, allow_none=True)
    attachments = fields.List(fields.Nested(DocumentSchema), required=True)
    event = fields.Nested(
        EventSchema, required=True, allow_none=True, metadata={"description": "For kind `event`."}
    )


class RequestQuoteLineSchema(ma.Schema):
    passenger = fields.String(required=True, attribute="passenger.ref")
    amount = money("amount_money")


class QuoteSchema(ma.Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"description": "open, accepted, declined or superseded"})
    lines = fields.List(fields.Nested(RequestQuoteLineSchema), required=True)
    total = money()
    valid_until = fields.Date(required=True)
    expires_at = Instant(required=True, metadata={"description": "Answer before this instant."})
    note = fields.String(required=True, allow_none=True)
    posted_at = Instant(required=True)
    answered_at = Instant(required=True, allow_none=True)
    refund_code = fields.Function(
        lambda quote: quote.refund.code if quote.refund is not None else None,
        required=True,
        allow_none=True,
        metadata={"type": "string", "description": "The refund accepting it requested."},
    )
    may_answer = fields.Boolean(required=True, metadata={"description": "Accept or decline it now."})


class RefundRef(ma.Schema):
    code = fields.String(required=True)
    status = fields.String(required=True)
    path = fields.String(required=True)


class RequestDetails(RequestSummary):
    description = fields.String(required=True)
    auto_completes_at = Instant(
        required=True,
        allow_none=True,
        metadata={"description": "When a processed request completes unless someone replies."},
    )
    may_cancel = fields.Boolean(required=True, attribute="agency_may_cancel")
    may_reply = fields.Boolean(required=True, attribute="agency_may_reply")
    refunds = fields.List(
        fields.Nested(RefundRef), required=True, metadata={"description": "Refunds linked to the request."}
    )
    quotes = fields.List(fields.Nested(QuoteSchema), required=True)
    thread = fields.List(fields.Nested(ThreadEntrySchema), required=True)


class QuoteAccepted(RequestDetails):
    refund_code = fields.String(required=True, metadata={"description": "The refund accepting requested."})
