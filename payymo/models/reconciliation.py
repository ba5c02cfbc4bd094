"""Matches (with their allocation lines), suggestions, blocked pairs and payer memory."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from payymo.db import Base, JSONType, UTCDateTime
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column, tenant_fk
from .transaction import Transaction

MATCH_METHODS = ("auto", "manual", "suggestion", "stripe")
MATCH_STATUSES = ("active", "reversed")
SUGGESTION_STATUSES = ("open", "accepted", "rejected", "expired")


class Match(TenantScoped, Base):
    """A decision that a transaction paid one or more invoices; reversed, never deleted."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_matches_transaction_id", "transaction_id"),
        tenant_fk("transaction_id", "transactions", ondelete="CASCADE"),
        tenant_fk("suggestion_id", "suggestions", use_alter=True),
    )

    id: Mapped[str] = id_column("mat")
    transaction_id: Mapped[str] = mapped_column(String(40))
    method: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active")
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    confidence: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSONType, default=list)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[dt.datetime] = created_at_column()
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reversed_by: Mapped[str | None] = mapped_column(String(100))
    suggestion_id: Mapped[str | None] = mapped_column(String(40))

    allocations = relationship(
        "Allocation", back_populates="match", lazy="selectin", order_by="Allocation.id"
    )
    # A bank credit explained by a Stripe payout rather than by invoices.
    payout_lines = relationship(
        "PayoutAllocation", back_populates="match", lazy="selectin", order_by="PayoutAllocation.id"
    )


class Allocation(TenantScoped, Base):
    """One line of a match: this much of the transaction went to this invoice."""

    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("charge >= 0", name="charge_non_negative"),
        Index("ix_allocations_invoice_status", "invoice_id", "status"),
        Index("ix_allocations_transaction_status", "transaction_id", "status"),
        Index("ix_allocations_match_id", "match_id"),
        tenant_fk("match_id", "matches", ondelete="CASCADE"),
        tenant_fk("transaction_id", "transactions", ondelete="CASCADE"),
        tenant_fk("invoice_id", "invoices", ondelete="CASCADE"),
    )

    id: Mapped[str] = id_column("alc")
    match_id: Mapped[str] = mapped_column(String(40))
    transaction_id: Mapped[str] = mapped_column(String(40))
    invoice_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    # Minor units of the invoice written off as a bank charge; the transaction only ever
    # gives ``amount``, so its books balance on amounts alone.
    charge: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
    currency: Mapped[str] = mapped_column(String(3))
    # Mirrors the match's status so live sums need no join.
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[dt.datetime] = created_at_column()

    match = relationship("Match", back_populates="allocations", lazy="select")
    # Shown beside the line (number, customer, what it still owes): one query per page
    # of lines, and no query at all for an invoice already in the session.
    invoice = relationship(
        "Invoice",
        primaryjoin="Allocation.invoice_id == Invoice.id",
        foreign_keys=[invoice_id],
        viewonly=True,
        lazy="selectin",
    )


class PayoutAllocation(TenantScoped, Base):
    """A match line whose target is a Stripe payout: this bank credit is that payout.

    Reversed lines stay: a person's reversal is what keeps the engine from pairing the
    two again. At most one active line per payout.
    """

    __tablename__ = "payout_allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payout_allocations_match_id", "match_id"),
        Index("ix_payout_allocations_payout_id", "payout_id"),
        Index(
            "ux_payout_allocations_active_payout",
            "payout_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        tenant_fk("match_id", "matches", ondelete="CASCADE"),
        tenant_fk("transaction_id", "transactions", ondelete="CASCADE"),
        tenant_fk("payout_id", "stripe_payouts", ondelete="CASCADE"),
    )

    id: Mapped[str] = id_column("pal")
    match_id: Mapped[str] = mapped_column(String(40))
    transaction_id: Mapped[str] = mapped_column(String(40))
    payout_id: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[dt.datetime] = created_at_column()

    match = relationship("Match", back_populates="payout_lines", lazy="select")
    payout = relationship(
        "StripePayout",
        primaryjoin="PayoutAllocation.payout_id == StripePayout.id",
        foreign_keys=[payout_id],
        viewonly=True,
        lazy="selectin",
    )


class Suggestion(TenantScoped, Base):
    """A candidate match with a confidence and reasons, waiting for a person."""

    __tablename__ = "suggestions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        Index("ix_suggestions_transaction_status", "transaction_id", "status"),
        tenant_fk("transaction_id", "transactions", ondelete="CASCADE"),
        tenant_fk("match_id", "matches"),
    )

    id: Mapped[str] = id_column("sug")
    transaction_id: Mapped[str] = mapped_column(String(40))
    allocations: Mapped[list] = mapped_column(JSONType)  # [{"invoice_id", "amount"}]
    invoice_ids: Mapped[list] = mapped_column(JSONType)  # for filtering by invoice
    confidence: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list] = mapped_column(JSONType, default=list)
    rank: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[dt.datetime] = created_at_column()
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(100))
    match_id: Mapped[str | None] = mapped_column(String(40))
    # The invoices its lines name, by id, loaded for showing them (not a column):
    # ``services.suggestions.show`` fills it for a page in one query.
    shown_invoices: ClassVar[dict | None] = None
    # Its transaction's currency (which never changes), read when shown; not a column.
    currency: Mapped[str] = column_property(
        select(Transaction.currency)
        .where(Transaction.id == transaction_id)
        .correlate_except(Transaction)
        .scalar_subquery(),
        deferred=True,
    )


class MatchBlock(TenantScoped, Base):
    """A transaction-invoice pair never to be auto-matched or suggested again."""

    __tablename__ = "match_blocks"
    __table_args__ = (
        UniqueConstraint("transaction_id", "invoice_id"),
        tenant_fk("transaction_id", "transactions", ondelete="CASCADE"),
        tenant_fk("invoice_id", "invoices", ondelete="CASCADE"),
    )

    id: Mapped[str] = id_column("blk")
    transaction_id: Mapped[str] = mapped_column(String(40))
    invoice_id: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(20))  # rejected | reversed
    created_at: Mapped[dt.datetime] = created_at_column()


class PayerMemory(TenantScoped, Base):
    """Learned: this payer IBAN (or payer name) pays this customer's invoices."""

    __tablename__ = "payer_memory"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "value", "customer_key"),)

    id: Mapped[str] = id_column("pm")
    kind: Mapped[str] = mapped_column(String(10))  # iban | name
    value: Mapped[str] = mapped_column(String(255))
    customer_key: Mapped[str] = mapped_column(String(255))
    confirmations: Mapped[int] = mapped_column(Integer, default=1)
    last_confirmed_at: Mapped[dt.datetime] = created_at_column()
