"""What incremental reconcile runs read instead of every open row.

``reconcile_changes`` is appended by database triggers in the same transaction as every
change that can alter a decision (a credit, an invoice, a block, payer memory, the
tenant's settings). The other three are the look-up tables a run keeps for the open
credits and invoices, brought up to date from those changes before it looks anything up:
``reconcile_items`` (currency, open amount, customer), ``reconcile_keys``
(``matching.keys``), ``reconcile_words`` (which customer names share a name word) and
``reconcile_name_customers`` (which customers' invoices carry a name or name word).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, PrimaryKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base
from payymo.tenancy import TenantScoped

CREDIT = "t"
INVOICE = "i"


class ReconcileChange(TenantScoped, Base):
    """Something a run must look at again: a credit, an invoice, a payer, or everything."""

    __tablename__ = "reconcile_changes"
    __table_args__ = (Index("ix_reconcile_changes_tenant_id", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(12))  # transaction | invoice | payer | full
    # The transaction's or invoice's id, "iban:…"/"name:…" for a payer, NULL for full.
    object_id: Mapped[str | None] = mapped_column(String(300), nullable=True)


class ReconcileItem(TenantScoped, Base):
    """An open credit or invoice as the last run saw it."""

    __tablename__ = "reconcile_items"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "side", "object_id"),
        Index("ix_reconcile_items_amount", "tenant_id", "side", "currency", "open_amount"),
    )

    side: Mapped[str] = mapped_column(String(1))  # t (credit) | i (invoice)
    object_id: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    open_amount: Mapped[int] = mapped_column(BigInteger)
    customer: Mapped[str] = mapped_column(String(300), default="")  # invoices: customer key


class ReconcileKey(TenantScoped, Base):
    """One look-up key of an open credit or invoice (``matching.keys``)."""

    __tablename__ = "reconcile_keys"
    __table_args__ = (
        PrimaryKeyConstraint("tenant_id", "side", "object_id", "key"),
        Index("ix_reconcile_keys_lookup", "tenant_id", "side", "key", "object_id"),
    )

    side: Mapped[str] = mapped_column(String(1))
    object_id: Mapped[str] = mapped_column(String(40))
    key: Mapped[str] = mapped_column(String(300))


class ReconcileWord(TenantScoped, Base):
    """A customer name sharing a name word, with how many open invoices carry it."""

    __tablename__ = "reconcile_words"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "currency", "word", "name"),)

    currency: Mapped[str] = mapped_column(String(3))
    word: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    invoices: Mapped[int] = mapped_column(Integer)


class ReconcileNameCustomer(TenantScoped, Base):
    """A customer whose open invoices carry a name key (``n:``, ``w:``), with how many."""

    __tablename__ = "reconcile_name_customers"
    __table_args__ = (PrimaryKeyConstraint("tenant_id", "key", "customer"),)

    key: Mapped[str] = mapped_column(String(300))
    customer: Mapped[str] = mapped_column(String(300))  # the invoices' customer key
    invoices: Mapped[int] = mapped_column(Integer)
