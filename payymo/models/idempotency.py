"""IdempotencyRecord: the first response to a POST, replayed for the same key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, UTCDateTime
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column


class IdempotencyColumns:
    """A stored first response: the key, what was asked, what was answered, until when."""

    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    response_status: Mapped[int | None]
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)


class IdempotencyRecord(TenantScoped, IdempotencyColumns, Base):
    """A stored response keyed by (tenant, Idempotency-Key); lives 24 h."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("tenant_id", "key"),)

    id: Mapped[str] = id_column("idem")


class PartnerIdempotencyRecord(IdempotencyColumns, Base):
    """A stored response to the partner API keyed by (partner, Idempotency-Key); 24 h."""

    __tablename__ = "partner_idempotency_records"
    __table_args__ = (UniqueConstraint("partner_id", "key"),)

    id: Mapped[str] = id_column("pidem")
    partner_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("partners.id", ondelete="CASCADE")
    )
