"""Rollups: per-tenant counts and sums kept exact by database triggers, for stats and summaries.

A rollup row is one group of one subject (transactions, matches, credits with an automatic
match, invoices, suggestions) by the dimensions that subject has; absent dimensions are
''. On PostgreSQL the triggers append deltas (no row is a hot spot for concurrent
writers) and a compaction folds them into ``rollups``; readers add both up in one
statement. On SQLite, with one writer at a time, the triggers update ``rollups`` directly.
See ``payymo.services.rollups``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base
from payymo.tenancy import TenantScoped

DIMENSIONS = (
    "subject",
    "account_id",
    "currency",
    "month",
    "received",
    "direction",
    "status",
    "detail",
)
MEASURES = ("item_count", "amount", "amount_allocated")


class RollupColumns:
    """The group (tenant, subject, dimensions) and its measures."""

    # No foreign key to tenants: a tenant's purge cascades into rows whose triggers
    # write here in the same statement. The purge deletes these rows itself.
    tenant_id: Mapped[str] = mapped_column(String(40), nullable=False)
    subject: Mapped[str] = mapped_column(String(20))
    account_id: Mapped[str] = mapped_column(String(40), default="")
    currency: Mapped[str] = mapped_column(String(3), default="")
    # YYYY-MM of the booking date (YYYY-MM-DD in the daily subject).
    month: Mapped[str] = mapped_column(String(10), default="")
    received: Mapped[str] = mapped_column(String(7), default="")  # YYYY-MM it arrived (UTC)
    direction: Mapped[str] = mapped_column(String(4), default="")  # in, out, zero
    status: Mapped[str] = mapped_column(String(20), default="")
    detail: Mapped[str] = mapped_column(String(20), default="")  # match status or method
    item_count: Mapped[int] = mapped_column(BigInteger, default=0)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_allocated: Mapped[int] = mapped_column(BigInteger, default=0)


class Rollup(RollupColumns, TenantScoped, Base):
    """One group's counts and sums (plus whatever deltas are not yet folded in)."""

    __tablename__ = "rollups"
    __table_args__ = (UniqueConstraint("tenant_id", *DIMENSIONS, name="uq_rollups_group"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )


class RollupDelta(RollupColumns, TenantScoped, Base):
    """A change to one group, appended by a trigger, folded into ``rollups`` later."""

    __tablename__ = "rollup_deltas"
    __table_args__ = (Index("ix_rollup_deltas_tenant_subject", "tenant_id", "subject"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
