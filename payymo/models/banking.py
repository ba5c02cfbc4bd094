"""BankAccount: an account whose transactions Payymo reconciles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from payymo.db import Base
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column, updated_at_column

ACCOUNT_KINDS = ("manual", "provider")


class BankAccount(TenantScoped, Base):
    """A bank account: ``manual`` for imported statements, ``provider`` for synced ones."""

    __tablename__ = "bank_accounts"
    __table_args__ = (UniqueConstraint("tenant_id", "id"),)

    id: Mapped[str] = id_column("ba")
    kind: Mapped[str] = mapped_column(String(20), default="manual")
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    iban: Mapped[str | None] = mapped_column(String(34), index=True)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    transactions = relationship("Transaction", back_populates="account", lazy="select")
