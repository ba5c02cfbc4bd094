"""AuditLog: who changed what, from where, under which request."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column


class AuditColumns:
    """Who (a key id), what (method and route), which resource, how it ended, from where."""

    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(200))
    resource_type: Mapped[str | None] = mapped_column(String(50))
    resource_id: Mapped[str | None] = mapped_column(String(40))
    status_code: Mapped[int | None]
    # Why a request failed: the envelope's code, or the real reason a key was refused.
    error_code: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(64))
    client_request_id: Mapped[str | None] = mapped_column(String(64))
    ip: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = created_at_column()


class AuditLog(TenantScoped, AuditColumns, Base):
    """One row per mutating request, failed and refused ones included."""

    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[str] = id_column("aud")
    api_key_id: Mapped[str | None] = mapped_column(String(40))


class PartnerAuditLog(AuditColumns, Base):
    """One row per mutating call of the partner API (acting for a tenant is the tenant's)."""

    __tablename__ = "partner_audit_logs"
    __table_args__ = (Index("ix_partner_audit_logs_partner_id_id", "partner_id", "id"),)

    id: Mapped[str] = id_column("paud")
    partner_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("partners.id", ondelete="CASCADE")
    )
    # The tenant the call was about, if any (no foreign key: the row outlives a purge).
    tenant_id: Mapped[str | None] = mapped_column(String(40))
