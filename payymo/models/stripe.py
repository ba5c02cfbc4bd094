"""A tenant's linked Stripe account and what Payymo keeps of it: payments, payouts, the
balance transactions a payout is made of, and the webhook events Stripe sent."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, Index, String, Text, UniqueConstraint
from sqlalchemy import text as text_
from sqlalchemy.orm import Mapped, mapped_column

from payymo.db import Base, JSONType, UTCDateTime
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column, tenant_fk, updated_at_column


class StripeLink(TenantScoped, Base):
    """The tenant's Stripe API key and webhook signing secret (both encrypted)."""

    __tablename__ = "stripe_links"
    __table_args__ = (UniqueConstraint("tenant_id"),)

    id: Mapped[str] = id_column("stl")
    api_key: Mapped[str] = mapped_column(Text)  # encrypted
    key_hint: Mapped[str] = mapped_column(String(40))  # sk_test_…4242
    livemode: Mapped[bool] = mapped_column(Boolean)
    webhook_secret: Mapped[str] = mapped_column(Text)  # encrypted
    last_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Where the backfill stands, per list: the newest object id seen.
    sync_cursors: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class StripePayment(TenantScoped, Base):
    """A PaymentIntent and its charge: amounts, fee, refunds, disputes, the invoice it pays."""

    __tablename__ = "stripe_payments"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "stripe_id"),
        Index("ix_stripe_payments_tenant_invoice", "tenant_id", "invoice_id"),
        tenant_fk("invoice_id", "invoices"),
    )

    id: Mapped[str] = id_column("spay")
    stripe_id: Mapped[str] = mapped_column(String(255))
    invoice_id: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_received: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    fee: Mapped[int | None] = mapped_column(BigInteger)
    net: Mapped[int | None] = mapped_column(BigInteger)
    customer: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text)
    charge_id: Mapped[str | None] = mapped_column(String(255))
    balance_transaction_id: Mapped[str | None] = mapped_column(String(255))
    dispute_status: Mapped[str | None] = mapped_column(String(40))
    failure_message: Mapped[str | None] = mapped_column(Text)
    decline_code: Mapped[str | None] = mapped_column(String(60))
    stripe_created: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    # Its line in the Stripe clearing account, and the match paying its invoice.
    transaction_id: Mapped[str | None] = mapped_column(String(40))
    match_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class StripePayout(TenantScoped, Base):
    """A payout to the tenant's bank, its breakdown, and the bank line it became."""

    __tablename__ = "stripe_payouts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        UniqueConstraint("tenant_id", "stripe_id"),
        tenant_fk("bank_transaction_id", "transactions"),
    )

    id: Mapped[str] = id_column("spo")
    stripe_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    arrival_date: Mapped[dt.date] = mapped_column(Date)
    automatic: Mapped[bool] = mapped_column(Boolean)
    reconciliation_status: Mapped[str | None] = mapped_column(String(40))
    trace_id: Mapped[str | None] = mapped_column(String(255))
    failure_code: Mapped[str | None] = mapped_column(String(60))
    failure_message: Mapped[str | None] = mapped_column(Text)
    # Gross charges, refunds, disputes, fees, net and counts, once the lines are fetched.
    breakdown: Mapped[dict | None] = mapped_column(JSONType)
    # "payout" (Stripe listed its lines) or "between_payouts" (a manual payout, explained
    # by the balance transactions since the previous one).
    breakdown_source: Mapped[str | None] = mapped_column(String(40))
    bank_transaction_id: Mapped[str | None] = mapped_column(String(40))
    stripe_created: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class StripeBalanceTransaction(TenantScoped, Base):
    """One line of a payout: a charge, refund, dispute or fee, with its fee and net."""

    __tablename__ = "stripe_balance_transactions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stripe_id"),
        Index("ix_stripe_balance_transactions_tenant_payout", "tenant_id", "payout_id"),
        tenant_fk("payout_id", "stripe_payouts", ondelete="CASCADE"),
        tenant_fk("payment_id", "stripe_payments"),
    )

    id: Mapped[str] = id_column("sbt")
    stripe_id: Mapped[str] = mapped_column(String(255))
    payout_id: Mapped[str] = mapped_column(String(40))
    payment_id: Mapped[str | None] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(60))
    reporting_category: Mapped[str | None] = mapped_column(String(60))
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    source_id: Mapped[str | None] = mapped_column(String(255))
    available_on: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()


class StripeEvent(TenantScoped, Base):
    """A webhook event Stripe sent: stored on receipt (once per Stripe id), then processed."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        UniqueConstraint("tenant_id", "stripe_event_id"),
        Index(
            "ix_stripe_events_unprocessed",
            "id",
            postgresql_where=text_("processed_at IS NULL"),
            sqlite_where=text_("processed_at IS NULL"),
        ),
    )

    id: Mapped[str] = id_column("sev")
    stripe_event_id: Mapped[str] = mapped_column(String(255))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSONType)
    received_at: Mapped[dt.datetime] = created_at_column()
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)
