"""Webhooks' pure rules: the event types, the signature, the backoff, and which URLs may be targets."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from portal.domain.errors import DomainError

EVENT_TYPES = (
    "refund.status_changed",
    "refund.credited",
    "request.status_changed",
    "request.message_added",
    "request.quote_posted",
    "schedule_change.detected",
    "baggage_order.status_changed",
    "follow_up.available",
)
MAX_URL = 500
TIMEOUT_SECONDS = 10
# Retries: 1, 2, 4 … minutes, at most an hour apart, until a day after the first try; then given up.
GIVE_UP_AFTER = timedelta(hours=24)
MAX_BACKOFF = timedelta(hours=1)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after GIVE_UP_AFTER

    @property
    def label(self) -> str:
        return {"pending": "Pending", "delivered": "Delivered", "failed": "Failed"}[self.value]


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed try: 1, 2, 4 … minutes, at most an hour."""
    return min(MAX_BACKOFF, timedelta(minutes=2 ** min(max(0, attempts - 1), 10)))


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    """`Portal-Signature`: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">."""
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def check_event_types(types) -> list[str]:
    """The chosen event types, known and without repeats, in the contract's order; a DomainError on
    `events` otherwise."""
    if not isinstance(types, list | tuple) or not types:
        raise DomainError("Choose at least one event.", field="events")
    unknown = [t for t in types if t not in EVENT_TYPES]
    if unknown:
        raise DomainError(
            f"Unknown event {', '.join(map(str, unknown))}; known are {', '.join(EVENT_TYPES)}.",
            field="events",
        )
    return [t for t in EVENT_TYPES if t in types]


def url_refusal(url: str, *, allow_http: bool) -> str | None:
    """Why a URL cannot be an endpoint (the shape only; the addresses it resolves to are checked by the
    service), or None."""
    if not url or len(url) > MAX_URL:
        return f"Enter a URL of at most {MAX_URL} characters."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        return "Enter a full URL, like https://example.com/webhooks."
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return "Only https:// URLs can receive webhooks."
    if not parts.hostname:
        return "Enter a full URL, like https://example.com/webhooks."
    if parts.username or parts.password:
        return "Leave the user name and password out of the URL."
    return None


def address_refusal(address: str) -> str | None:
    """Why an address may not be a webhook target (private, loopback, link-local …), or None."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if not ip.is_global or ip.is_multicast:
        return f"The URL's host resolves to {ip}, a private, loopback or link-local address."
    return None
