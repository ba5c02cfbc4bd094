"""Webhook endpoints (subscriptions), deliveries (one per event and endpoint), attempts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, JSONType, UTCDateTime
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column, tenant_fk, updated_at_column

DELIVERY_STATUSES = ("pending", "delivered", "failed", "cancelled")


class EndpointColumns:
    """What every webhook endpoint has: a URL, its event types, its signing secrets."""

    url: Mapped[str] = mapped_column(Text)
    event_types: Mapped[list] = mapped_column(JSONType)
    description: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)  # encrypted
    previous_secret: Mapped[str | None] = mapped_column(Text)  # encrypted, during rotation
    previous_secret_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Set by the first failed attempt after a success; three days of it disables.
    failing_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class WebhookEndpoint(TenantScoped, EndpointColumns, Base):
    """A tenant's URL subscribed to some of its event types."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (UniqueConstraint("tenant_id", "id"),)

    id: Mapped[str] = id_column("we")


class PartnerWebhookEndpoint(EndpointColumns, Base):
    """A partner's URL subscribed to some event types of every tenant it owns."""

    __tablename__ = "partner_webhook_endpoints"

    id: Mapped[str] = id_column("pwe")
    partner_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )


class WebhookDelivery(TenantScoped, Base):
    """One event owed to one endpoint, and where its retry schedule stands.

    The endpoint is the tenant's own (``endpoint_id``) or its partner's
    (``partner_endpoint_id``), never both; either way the row is the event's tenant's.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("endpoint_id", "event_id"),
        UniqueConstraint("partner_endpoint_id", "event_id"),
        CheckConstraint(
            "(endpoint_id IS NULL) <> (partner_endpoint_id IS NULL)", name="one_endpoint"
        ),
        tenant_fk("endpoint_id", "webhook_endpoints", ondelete="CASCADE"),
        tenant_fk("event_id", "events", ondelete="CASCADE"),
        Index("ix_webhook_deliveries_tenant_endpoint", "tenant_id", "endpoint_id", "id"),
        Index("ix_webhook_deliveries_tenant_event", "tenant_id", "event_id"),
        Index("ix_webhook_deliveries_partner_endpoint", "partner_endpoint_id", "id"),
        # The dispatcher claims due deliveries: only pending rows are in this index.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = id_column("del")
    endpoint_id: Mapped[str | None] = mapped_column(String(40))
    partner_endpoint_id: Mapped[str | None] = mapped_column(
        String(40), ForeignKey("partner_webhook_endpoints.id", ondelete="CASCADE")
    )
    event_id: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Index into the retry schedule; a redelivery by hand starts it again.
    schedule_step: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # A dispatcher that claimed the delivery owns it until then (a dead one lets go).
    leased_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class WebhookAttempt(TenantScoped, Base):
    """One HTTP attempt of a delivery: what the receiver answered, or what went wrong."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        tenant_fk("delivery_id", "webhook_deliveries", ondelete="CASCADE"),
        Index("ix_webhook_attempts_tenant_delivery", "tenant_id", "delivery_id"),
    )

    id: Mapped[str] = id_column("watt")
    delivery_id: Mapped[str] = mapped_column(String(40))
    number: Mapped[int] = mapped_column(Integer)
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
