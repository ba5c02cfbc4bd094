"""ApiKey: a tenant's secret for the REST API, stored only as a SHA-256 hash."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, JSONType, UTCDateTime
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column, tenant_fk


class ApiKey(TenantScoped, Base):
    """An API key; the secret itself is shown once and never stored."""

    __tablename__ = "api_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        tenant_fk("rolled_to_id", "api_keys"),
    )

    id: Mapped[str] = id_column("key")
    name: Mapped[str | None] = mapped_column(String(100))
    mode: Mapped[str] = mapped_column(String(10), default="live")
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = created_at_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    rolled_to_id: Mapped[str | None] = mapped_column(String(40))
