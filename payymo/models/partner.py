"""Partners: white-label resellers who provision and act for many tenants, and their keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, JSONType, UTCDateTime

from ._base import created_at_column, id_column, updated_at_column


class Partner(Base):
    """A partner; the tenants it owns point here (``tenants.partner_id``)."""

    __tablename__ = "partners"

    id: Mapped[str] = id_column("ptn")
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")
    # name, logo_url, primary_color, support_email, custom_domain (the portal's look)
    branding: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class TenantOffboarding(Base):
    """A partner's tenant offboarded: kept until ``purge_after``, then purged; this stays."""

    __tablename__ = "tenant_offboardings"

    id: Mapped[str] = id_column("off")
    # No foreign key: the record outlives the tenant it describes.
    tenant_id: Mapped[str] = mapped_column(String(40), unique=True)
    partner_id: Mapped[str] = mapped_column(String(40), ForeignKey("partners.id"), index=True)
    tenant_name: Mapped[str] = mapped_column(String(200))
    offboarded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    purge_after: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    purged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Bank connections whose consent the provider would not withdraw (stopped here).
    unrevoked_connections: Mapped[list] = mapped_column(JSONType, default=list)
    # What the purge deleted: {"invoices": n, "transactions": n}.
    counts: Mapped[dict | None] = mapped_column(JSONType)


class PartnerKey(Base):
    """A partner's API key: the tenant keys' format and hashing, the partner's scopes."""

    __tablename__ = "partner_keys"

    id: Mapped[str] = id_column("pkey")
    partner_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = created_at_column()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
