"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from portal.models import audit  # noqa: F401  (append-only guard)
from portal.models.accounts import Account, LoginCounter, PasswordReset, User
from portal.models.api_keys import ApiCallCounter, ApiKey, IdempotentRequest
from portal.models.audit import AuditEvent
from portal.models.baggage import BaggageOrder
from portal.models.bookings import (
    Airline,
    Ancillary,
    BaggageOption,
    Booking,
    BookingSearchKey,
    Passenger,
    ScheduleChange,
    SearchKeysVersion,
    Segment,
)
from portal.models.documents import Document
from portal.models.finance import RefundBatch, RefundBatchRow
from portal.models.followups import RefundFollowUp
from portal.models.imports import ImportJob
from portal.models.ledger import LedgerEntry
from portal.models.mfa import RecoveryCode, SecondFactor
from portal.models.notifications import Notification, OutboxEmail, StatementMailing
from portal.models.refund_quotes import RefundQuote
from portal.models.refunds import Refund, RefundCoupon, RefundEvent, RefundPassenger, RefundReason
from portal.models.requests import (
    RequestAttachment,
    RequestCategory,
    RequestEvent,
    RequestMessage,
    RequestQuote,
    RequestQuoteLine,
    ServiceRequest,
)
from portal.models.webhooks import WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "Account",
    "ApiCallCounter",
    "ApiKey",
    "IdempotentRequest",
    "AuditEvent",
    "Airline",
    "Ancillary",
    "BaggageOption",
    "BaggageOrder",
    "Booking",
    "BookingSearchKey",
    "SearchKeysVersion",
    "Document",
    "ImportJob",
    "LedgerEntry",
    "LoginCounter",
    "Notification",
    "OutboxEmail",
    "StatementMailing",
    "Passenger",
    "RecoveryCode",
    "PasswordReset",
    "Refund",
    "RefundFollowUp",
    "RefundBatch",
    "RefundBatchRow",
    "RefundCoupon",
    "RefundEvent",
    "RefundPassenger",
    "RefundQuote",
    "RefundReason",
    "RequestAttachment",
    "RequestCategory",
    "RequestEvent",
    "RequestMessage",
    "RequestQuote",
    "RequestQuoteLine",
    "ScheduleChange",
    "SecondFactor",
    "Segment",
    "ServiceRequest",
    "User",
]
