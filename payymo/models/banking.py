"""Bank connections and the bank accounts whose transactions Payymo reconciles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from payymo.db import Base, JSONType, UTCDateTime
from payymo.tenancy import TenantScoped

from ._base import created_at_column, id_column, tenant_fk, updated_at_column

# "stripe": the clearing account a tenant's Stripe payments land in, one per currency.
ACCOUNT_KINDS = ("manual", "provider", "stripe")
CONNECTION_STATUSES = ("pending", "linked", "expired", "suspended", "error", "revoked")
# A connection in one of these can be synced or refreshed; the others need the user.
SYNCABLE = ("linked",)


class BankConnection(TenantScoped, Base):
    """A consent at a bank-data provider, and the sync state of the accounts it grants."""

    __tablename__ = "bank_connections"
    __table_args__ = (
        UniqueConstraint("tenant_id", "id"),
        # The consent's redirect carries only the reference: it finds the connection
        # before any tenant is known, so it is unique across tenants (and unguessable).
        UniqueConstraint("reference"),
        Index("ix_bank_connections_status_next_sync_at", "status", "next_sync_at"),
    )

    id: Mapped[str] = id_column("bc")
    provider: Mapped[str] = mapped_column(String(40))
    institution_id: Mapped[str] = mapped_column(String(100))
    institution_name: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    reference: Mapped[str] = mapped_column(String(64))
    consent_id: Mapped[str | None] = mapped_column(String(255))
    agreement_id: Mapped[str | None] = mapped_column(String(255))
    link: Mapped[str | None] = mapped_column(Text)
    redirect_url: Mapped[str] = mapped_column(Text)
    max_historical_days: Mapped[int] = mapped_column(Integer)
    access_valid_for_days: Mapped[int] = mapped_column(Integer)
    linked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    access_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expiring_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    next_sync_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_code: Mapped[str | None] = mapped_column(String(60))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    links = relationship(
        "ProviderAccount", lazy="select", order_by="ProviderAccount.account_id", viewonly=True
    )


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
    link = relationship(
        "ProviderAccount", back_populates="account", lazy="select", uselist=False, viewonly=True
    )


class ProviderAccount(TenantScoped, Base):
    """How a ``provider`` bank account is synced: its connection, provider id and state.

    A table of its own rather than columns on ``bank_accounts``: the account outlives a
    consent (a reconnect maps the bank's new account id onto it by IBAN), and SQLite
    cannot add a composite foreign key to an existing table without copying it.
    """

    __tablename__ = "provider_accounts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "account_id"),
        tenant_fk("account_id", "bank_accounts", ondelete="CASCADE"),
        tenant_fk("connection_id", "bank_connections"),
        Index("ix_provider_accounts_tenant_connection", "tenant_id", "connection_id"),
    )

    account_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    connection_id: Mapped[str] = mapped_column(String(40))
    # None once a new consent no longer grants the account (it keeps its history).
    provider_account_id: Mapped[str | None] = mapped_column(String(255))
    owner_name: Mapped[str | None] = mapped_column(String(255))
    # As the bank last reported them: [{"kind", "amount", "currency", "reference_date"}].
    balances: Mapped[list | None] = mapped_column(JSONType)
    balances_updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The latest booking date imported: the next sync starts a few days before it.
    synced_through: Mapped[dt.date | None] = mapped_column(Date)
    last_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Successful provider calls in the last 24 h, per scope: {"transactions": [iso, ...]}.
    provider_calls: Mapped[dict | None] = mapped_column(JSONType)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()

    account = relationship("BankAccount", back_populates="link", lazy="joined")


class ProviderCredential(TenantScoped, Base):
    """A tenant's own credentials for a bank-data provider, encrypted; never answered back."""

    __tablename__ = "provider_credentials"
    __table_args__ = (UniqueConstraint("tenant_id", "provider"),)

    id: Mapped[str] = id_column("pcr")
    provider: Mapped[str] = mapped_column(String(40))
    # secrets_box token of the JSON credentials.
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()
    updated_at: Mapped[dt.datetime] = updated_at_column()


class ProviderToken(Base):
    """A provider access token cached in the database (when no Redis), encrypted."""

    __tablename__ = "provider_tokens"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
