"""Webhooks: an account's endpoints (made on the API keys page or over the API), the events, written by
`emit` in the same transaction as the change they tell of (the outbox), and what the job runner needs to
deliver them (portal/jobs.py `deliver_webhooks`): the head of each endpoint's queue, its claim, the signed
request, and the log of each attempt.

The signing secret is stored encrypted (Fernet) under a key derived from SECRET_KEY for this one purpose,
as the TOTP secret is (services/mfa.py): the portal must sign with it, so a hash would not do, and a copy
of the database alone cannot forge deliveries.
"""

from __future__ import annotations

import json
import secrets
import socket
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import aliased

from portal.clock import utcnow
from portal.domain.errors import Conflict, DomainError, NotPermitted
from portal.domain.webhooks import (
    GIVE_UP_AFTER,
    DeliveryStatus,
    address_refusal,
    backoff,
    check_event_types,
    signature_header,
    url_refusal,
)
from portal.extensions import db
from portal.models import User, WebhookDelivery, WebhookEndpoint, WebhookEvent
from portal.services.paging import Slice
from portal.services.scope import Scope
from portal.services.sealed import seal, unseal
from portal.services.transitions import claim

LEASE = timedelta(minutes=2)  # longer than the 10-second timeout: a crashed sender's claim runs out
LOG_LENGTH = 50  # deliveries shown per endpoint

# --- the secret, encrypted at rest ------------------------------------------------------------------------


SEALED_FOR = b"portal/webhooks/signing-secret/v1"


def signing_secret(endpoint: WebhookEndpoint) -> str | None:
    """The endpoint's secret, or None when it cannot be read (SECRET_KEY changed since)."""
    return unseal(SEALED_FOR, endpoint.secret_encrypted)


# --- targets ----------------------------------------------------------------------------------------------


def allow_http() -> bool:
    return bool(current_app.config.get("ALLOW_HTTP_WEBHOOKS"))


def target_refusal(url: str) -> str | None:
    """Why `url` may not receive webhooks: its shape, then (unless PORTAL_ALLOW_HTTP_WEBHOOKS) every
    address its host resolves to must be public. Checked when the endpoint is made and before each try."""
    refusal = url_refusal(url, allow_http=allow_http())
    if refusal or allow_http():
        return refusal
    parts = urlsplit(url)
    try:
        _public_addresses(parts.hostname, parts.port or 443)
    except UnicodeError:
        return f"The host name {parts.hostname} does not resolve."
    except OSError as exc:
        return str(exc)
    return None


class AddressRefused(OSError):
    """A webhook target resolved to an address it may not be sent to."""


def _public_addresses(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, all public; AddressRefused (an OSError) otherwise."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AddressRefused(f"The host name {host} does not resolve.") from exc
    addresses = [info[4][0] for info in infos]
    for address in addresses:
        refusal = address_refusal(address)
        if refusal:
            raise AddressRefused(refusal)
    return addresses


def connect_address(host: str, port: int) -> str:
    """Where a delivery connects: `host` resolved once and checked, so the connection goes to the address
    the check passed (a DNS answer that changes between the check and the connection cannot point a
    delivery at a private address). The host itself when PORTAL_ALLOW_HTTP_WEBHOOKS is on. Raises
    AddressRefused."""
    if allow_http():
        return host
    return _public_addresses(host, port)[0]


# --- endpoints --------------------------------------------------------------------------------------------


def _account_of(actor: User, scope: Scope) -> int:
    if scope.account_id is None or not actor.is_agent:
        raise NotPermitted("Webhook endpoints belong to an agency's account.")
    return scope.account_id


def create_endpoint(
    actor: User, scope: Scope, url: str, events, now: datetime | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of the actor's account; returns it and its signing secret, shown once."""
    account_id = _account_of(actor, scope)
    url = (url or "").strip() if isinstance(url, str) else ""
    refusal = target_refusal(url)
    if refusal:
        raise DomainError(refusal, field="url")
    types = check_event_types(events)
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        account_id=account_id,
        created_by_id=actor.id,
        url=url,
        event_types=" ".join(types),
        secret_encrypted=seal(SEALED_FOR, secret),
        created_at=now or utcnow(),
    )
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secret


def _live_endpoints(scope: Scope):
    return scope.apply(select(WebhookEndpoint), WebhookEndpoint.account_id).where(
        WebhookEndpoint.deleted_at.is_(None)
    )


def account_endpoints(scope: Scope) -> list[WebhookEndpoint]:
    """Every live endpoint of the scope's account, newest first (the API keys page)."""
    if scope.is_everything:
        return []  # staff: endpoints are the agencies' own
    stmt = _live_endpoints(scope).order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc())
    return list(db.session.scalars(stmt))


def endpoints_after(scope: Scope, after: tuple[datetime, int] | None, limit: int) -> Slice:
    """The API's list: newest first, read after a cursor position, like the bookings list."""
    stmt = _live_endpoints(scope)
    if scope.is_everything:
        return Slice([], None)
    if after is not None:
        at, endpoint_id = after
        stmt = stmt.where(
            or_(
                WebhookEndpoint.created_at < at,
                and_(WebhookEndpoint.created_at == at, WebhookEndpoint.id < endpoint_id),
            )
        )
    stmt = stmt.order_by(WebhookEndpoint.created_at.desc(), WebhookEndpoint.id.desc()).limit(limit + 1)
    items = list(db.session.scalars(stmt))
    more = len(items) > limit
    items = items[:limit]
    return Slice(items, (items[-1].created_at, items[-1].id) if more else None)


def load_endpoint(endpoint_id: int, scope: Scope) -> WebhookEndpoint | None:
    """A live endpoint of the scope's account; another account's is None, as an unknown one is."""
    if scope.is_everything:
        return None
    return db.session.scalar(_live_endpoints(scope).where(WebhookEndpoint.id == endpoint_id))


def delete_endpoint(endpoint: WebhookEndpoint, *, actor: User, now: datetime | None = None) -> None:
    """Stop sending to the endpoint (its pending deliveries are dropped); its log is kept."""
    now = now or utcnow()
    if not claim(endpoint, expected={"deleted_at": None}, values={"deleted_at": now}):
        raise Conflict("This endpoint was already deleted.")
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.FAILED.value, last_error="The endpoint was deleted.")
        .execution_options(synchronize_session=False)
    )


# --- events: the outbox -------------------------------------------------------------------------------------


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def money(value) -> dict | None:
    """A Money as the API shows it: the amount as a string with the currency's decimals."""
    return None if value is None else {"amount": value.plain, "currency": value.currency}


def emit(account_id: int, event_type: str, data: dict, now: datetime | None = None) -> WebhookEvent | None:
    """Record an event of one account and a delivery to each of its endpoints that hears of it, in the
    caller's transaction: the change and its event commit, or roll back, together. Nothing is written
    when no endpoint listens."""
    now = now or utcnow()
    endpoint_ids = [
        endpoint.id
        for endpoint in db.session.scalars(_live_endpoints(Scope(account_id)).order_by(WebhookEndpoint.id))
        if event_type in endpoint.events
    ]
    if not endpoint_ids:
        return None
    public_id = "evt_" + secrets.token_hex(12)
    body = json.dumps(
        {"id": public_id, "type": event_type, "created_at": instant(now), "data": data},
        separators=(",", ":"),
        default=str,
    )
    event = WebhookEvent(
        public_id=public_id, account_id=account_id, type=event_type, created_at=now, body=body
    )
    db.session.add(event)
    db.session.flush()
    db.session.execute(
        insert(WebhookDelivery),
        [
            {
                "endpoint_id": endpoint_id,
                "event_id": event.id,
                "status": DeliveryStatus.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "queued_at": now,
            }
            for endpoint_id in endpoint_ids
        ],
    )
    return event


# --- the delivery log ---------------------------------------------------------------------------------------


def endpoint_deliveries(endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest event first."""
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .join(WebhookDelivery.event)
            .order_by(WebhookDelivery.event_id.desc())
            .limit(LOG_LENGTH)
        )
    )


def load_delivery(delivery_id: int, scope: Scope) -> WebhookDelivery | None:
    """A delivery to a live endpoint of the scope's account, or None."""
    if scope.is_everything:
        return None
    return db.session.scalar(
        select(WebhookDelivery)
        .join(WebhookDelivery.endpoint)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookEndpoint.account_id == scope.account_id,
            WebhookEndpoint.deleted_at.is_(None),
        )
    )


def redeliver(delivery: WebhookDelivery, *, actor: User, now: datetime | None = None) -> None:
    """Send a delivered or given-up event again: it goes back in the queue, due now, with another day of
    retries."""
    now = now or utcnow()
    if delivery.endpoint.deleted_at is not None or not actor.is_agent:
        raise NotPermitted("This endpoint cannot receive deliveries.")
    if not delivery.may_redeliver or not claim(
        delivery,
        expected={"status": delivery.status},
        values={"status": DeliveryStatus.PENDING.value, "next_attempt_at": now, "queued_at": now},
    ):
        raise Conflict("This event is already waiting to be delivered.")


# --- sending (the job runner's side) ------------------------------------------------------------------------


def due_heads(now: datetime) -> list[int]:
    """Per endpoint, its first pending delivery (the oldest event) when it is due and nobody has it: the
    one delivery each endpoint may have in flight, in event order."""
    heads = (
        select(func.min(WebhookDelivery.id).label("id"))
        .where(WebhookDelivery.status == DeliveryStatus.PENDING.value)
        .group_by(WebhookDelivery.endpoint_id)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(WebhookDelivery.id)
            .join(heads, heads.c.id == WebhookDelivery.id)
            .where(
                WebhookDelivery.next_attempt_at <= now,
                or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until <= now),
            )
            .order_by(WebhookDelivery.id)
        )
    )


def claim_delivery(delivery_id: int, now: datetime) -> bool:
    """Take a delivery for one try (a conditional UPDATE: two senders never both send it), unless another
    delivery of its endpoint is in flight."""
    other = aliased(WebhookDelivery)
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until <= now),
            ~exists().where(
                other.endpoint_id == WebhookDelivery.endpoint_id,
                other.id != WebhookDelivery.id,
                other.leased_until > now,
            ),
        )
        .values(leased_until=now + LEASE, attempts=WebhookDelivery.attempts + 1, last_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return claimed.rowcount == 1


def signed_request(delivery: WebhookDelivery, now: datetime) -> tuple[str, bytes, dict[str, str]] | str:
    """The URL, body and headers of one try, or why it cannot be made."""
    secret = signing_secret(delivery.endpoint)
    if secret is None:
        return "The signing secret cannot be read (the portal's SECRET_KEY changed): make a new endpoint."
    refusal = target_refusal(delivery.endpoint.url)
    if refusal:
        return refusal
    body = delivery.event.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Portal-Webhooks/1",
        "Portal-Signature": signature_header(secret, int(now.timestamp()), body),
    }
    return delivery.endpoint.url, body, headers


def record_attempt(
    delivery: WebhookDelivery, now: datetime, *, response_code: int | None, error: str | None
) -> None:
    """Log one try: a 2xx is delivered; anything else is retried with backoff until a day has passed."""
    delivery.leased_until = None
    delivery.response_code = response_code
    if error is None and response_code is not None and 200 <= response_code < 300:
        delivery.status = DeliveryStatus.DELIVERED.value
        delivery.delivered_at = now
        delivery.last_error = None
        return
    delivery.last_error = (error or f"HTTP {response_code}")[:500]
    retry_at = now + backoff(delivery.attempts)
    if retry_at - delivery.queued_at > GIVE_UP_AFTER:
        delivery.status = DeliveryStatus.FAILED.value
    else:
        delivery.next_attempt_at = retry_at
