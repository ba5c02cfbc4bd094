"""Invoice: money a tenant's customer owes, pushed in from a CRM/ERP."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Date, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, JSONType, UTCDateTime
from payymo.tenancy import TenantScoped

from ._base import ChangeStamped, created_at_column, id_column, updated_at_column

INVOICE_STATUSES = ("open", "partially_paid", "paid", "void")


class Invoice(TenantScoped, ChangeStamped, Base):
    """An invoice; ``amount_paid``, ``amount_charged`` and ``status`` follow from its allocations."""

    __tablename__ = "invoices"
    __table_args__ = (
        UniqueConstraint("tenant_id", "external_id"),
        UniqueConstraint("tenant_id", "id"),
        Index("ix_invoices_tenant_updated_at", "tenant_id", "updated_at"),
        Index("ix_invoices_tenant_change_seq", "tenant_id", "change_seq"),
        CheckConstraint("amount_due > 0", name="amount_due_positive"),
        CheckConstraint("amount_paid >= 0", name="amount_paid_non_negative"),
        CheckConstraint("amount_charged >= 0", name="amount_charged_non_negative"),
        Index("ix_invoices_tenant_status_id", "tenant_id", "status", "id"),
    )

    id: Mapped[str] = id_column("inv")
    external_id: Mapped[str] = mapped_column(String(255))
    number: Mapped[str | None] = mapped_column(String(100))
    customer_name: Mapped[str | None] = mapped_column(String(255))
    customer_email: Mapped[str | None] = mapped_column(String(255))
    customer_reference: Mapped[str | None] = mapped_column(String(100))
    amount_due: Mapped[int] = mapped_column(BigInteger)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    # Written off as bank charges by live allocations: settled, though never paid.
    amount_charged: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[dt.date | None] = mapped_column(Date)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="open")
    metadata_: Mapped[dict] = mapped_column("metadata", JSONType, default=dict)
    # A card dispute over a Stripe payment for it: needs_response, under_review, won, lost…
    dispute_status: Mapped[str | None] = mapped_column(String(40))
    voided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    @property
    def amount_remaining(self) -> int:
        """What is still owed (never negative; nothing once void)."""
        if self.status == "void":
            return 0
        return max(self.amount_due - self.amount_paid - self.amount_charged, 0)
