"""AuditLog: who changed what, from where, under which request."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column


class AuditLog(TenantScoped, Base):
    """One row per mutating request, failed and refused ones included."""

    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[str] = id_column("aud")
    actor: Mapped[str] = mapped_column(String(100))
    api_key_id: Mapped[str | None] = mapped_column(String(40))
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
