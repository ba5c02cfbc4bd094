"""Event: the outbox row written in the same transaction as the change it describes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, JSONType, UTCDateTime
from payymo.tenancy import TenantScoped

from ._base import ChangeStamped, created_at_column, id_column


class Event(TenantScoped, ChangeStamped, Base):
    """Something that happened to a tenant's data; delivered to webhooks after commit."""

    __tablename__ = "events"
    __table_args__ = (
        # Unique: deliveries point at (tenant_id, id).
        Index("ix_events_tenant_id_id", "tenant_id", "id", unique=True),
        Index("ix_events_tenant_type_id", "tenant_id", "type", "id"),
        Index("ix_events_tenant_change_seq", "tenant_id", "change_seq"),
        # Only events not yet fanned out to deliveries are looked up by the dispatcher:
        # a partial index stays small and costs nothing once an event is dispatched.
        Index(
            "ix_events_undispatched",
            "id",
            postgresql_where=text("dispatched_at IS NULL"),
            sqlite_where=text("dispatched_at IS NULL"),
        ),
    )

    id: Mapped[str] = id_column("evt")
    type: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict] = mapped_column(JSONType)
    request_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = created_at_column()
    # When the dispatcher created this event's deliveries (one per subscribed endpoint).
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
