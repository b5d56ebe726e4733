"""Webhooks: an account's endpoints, the events (the outbox, written in the same transaction as the change
they tell of) and one delivery per event and endpoint, sent by the job runner (portal/jobs.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.clock import utcnow
from portal.domain.webhooks import DeliveryStatus
from portal.extensions import db
from portal.models.types import UTCDateTime


class WebhookEndpoint(db.Model):
    """A URL of one client account that hears of the events it chose. The signing secret is stored
    encrypted (portal/services/webhooks.py), shown once when the endpoint is made."""

    __tablename__ = "webhook_endpoint"
    __table_args__ = (Index("ix_webhook_endpoint_account", "account_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    url: Mapped[str] = mapped_column(String(500))
    # The event types it hears of, separated by spaces.
    event_types: Mapped[str] = mapped_column(String(500))
    secret_encrypted: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Deleted endpoints are kept (their delivery log stays), but get nothing more and are listed nowhere.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def events(self) -> list[str]:
        return self.event_types.split()


class WebhookEvent(db.Model):
    """Something that happened to one account's object, as the JSON every endpoint receives."""

    __tablename__ = "webhook_event"
    __table_args__ = (Index("ix_webhook_event_account", "account_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    type: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The body sent, exactly (it is signed as these bytes).
    body: Mapped[str] = mapped_column(Text)


class WebhookDelivery(db.Model):
    """One event to one endpoint: pending until a 2xx, retried with backoff, every attempt logged."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_delivery_endpoint_event"),
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoint.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_event.id"))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set while a sender has it (a lease): at most one delivery in flight per endpoint.
    leased_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_code: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When it was queued (again, by a Redeliver): retries stop a day after.
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    endpoint: Mapped[WebhookEndpoint] = relationship()
    event: Mapped[WebhookEvent] = relationship()

    @property
    def status_label(self) -> str:
        return DeliveryStatus(self.status).label

    @property
    def may_redeliver(self) -> bool:
        return DeliveryStatus(self.status) is not DeliveryStatus.PENDING
