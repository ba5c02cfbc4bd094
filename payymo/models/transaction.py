"""Transaction: one line on a bank statement."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from payymo.db import Base, JSONType
from payymo.tenancy import TenantScoped

from ._base import ChangeStamped, created_at_column, id_column, tenant_fk, updated_at_column

# ``expired``: a pending line the bank stopped reporting (kept, never deleted).
TRANSACTION_STATUSES = ("booked", "pending", "expired")
IMPORTABLE_STATUSES = ("booked", "pending")
MATCH_STATUSES = ("unmatched", "suggested", "matched", "partially_matched", "ignored")


class Transaction(TenantScoped, ChangeStamped, Base):
    """A bank transaction; ``amount`` is signed minor units (negative = money out)."""

    __tablename__ = "transactions"
    __table_args__ = (
        UniqueConstraint("account_id", "dedupe_key"),
        UniqueConstraint("tenant_id", "id"),
        tenant_fk("account_id", "bank_accounts", ondelete="CASCADE"),
        Index("ix_transactions_tenant_match_status_id", "tenant_id", "match_status", "id"),
        # Ending in id: a short date or amount range pages value by value (pagination.Spread).
        Index("ix_transactions_tenant_booking_date_id", "tenant_id", "booking_date", "id"),
        Index("ix_transactions_tenant_amount_id", "tenant_id", "amount", "id"),
        Index("ix_transactions_tenant_change_seq", "tenant_id", "change_seq"),
        # A payer's lines newest first, read name by name (services.search).
        Index(
            "ix_transactions_tenant_counterparty_name_id", "tenant_id", "counterparty_name", "id"
        ),
    )

    id: Mapped[str] = id_column("txn")
    account_id: Mapped[str] = mapped_column(String(40))
    dedupe_key: Mapped[str] = mapped_column(String(160))
    provider_id: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(10), default="booked")
    booking_date: Mapped[dt.date | None] = mapped_column(Date)
    value_date: Mapped[dt.date | None] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    # Sum of live allocations; what is left of a credit stays visible as unallocated.
    amount_allocated: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3))
    counterparty_name: Mapped[str | None] = mapped_column(String(255))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    remittance_information: Mapped[str | None] = mapped_column(Text)
    end_to_end_id: Mapped[str | None] = mapped_column(String(255))
    raw: Mapped[dict | None] = mapped_column(JSONType)
    category: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    match_status: Mapped[str] = mapped_column(String(20), default="unmatched")
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    account = relationship("BankAccount", back_populates="transactions", lazy="select")
