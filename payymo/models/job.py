"""Job: a background run a tenant asked for (or caused), with its state and result."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, JSONType, UTCDateTime
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column

JOB_STATUSES = ("queued", "running", "succeeded", "failed")
JOB_TYPES = ("reconcile", "bank_sync", "stripe_sync")


class Job(TenantScoped, Base):
    """A background job's public record (``GET /jobs/{id}``)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_tenant_id_id", "tenant_id", "id"),
        Index("ix_jobs_tenant_type_status", "tenant_id", "type", "status"),
        # The sweeper looks across tenants for queued, running and due failed jobs.
        Index("ix_jobs_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[str] = id_column("job")
    type: Mapped[str] = mapped_column(String(50))
    # What the job works on, when not the whole tenant (a bank sync's connection id).
    subject_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="queued")
    result: Mapped[dict | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # How many times a worker started it; a failed job is retried while this is below the cap.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
