"""bank connections: consents at a bank-data provider and the accounts they sync

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 18:30:00.000000

``bank_connections`` holds a consent and its sync state; ``provider_accounts`` links a
``provider`` bank account to its connection and provider account id. New tables only:
on SQLite, adding a composite foreign key to ``bank_accounts`` would copy the table,
and dropping the old copy would cascade to its transactions.
"""

import sqlalchemy as sa
from alembic import op

from payymo.db import JSONType, UTCDateTime
from payymo.tenancy import policies

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("bank_connections", "provider_accounts", "provider_credentials")


def upgrade() -> None:
    op.create_table(
        "bank_connections",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(40),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("institution_id", sa.String(100), nullable=False),
        sa.Column("institution_name", sa.String(200)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("consent_id", sa.String(255)),
        sa.Column("agreement_id", sa.String(255)),
        sa.Column("link", sa.Text()),
        sa.Column("redirect_url", sa.Text(), nullable=False),
        sa.Column("max_historical_days", sa.Integer(), nullable=False),
        sa.Column("access_valid_for_days", sa.Integer(), nullable=False),
        sa.Column("linked_at", UTCDateTime()),
        sa.Column("access_expires_at", UTCDateTime()),
        sa.Column("expiring_notified_at", UTCDateTime()),
        sa.Column("last_synced_at", UTCDateTime()),
        sa.Column("next_sync_at", UTCDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_error_code", sa.String(60)),
        sa.Column("revoked_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "id"),
        sa.UniqueConstraint("reference"),
    )
    op.create_index(
        "ix_bank_connections_status_next_sync_at", "bank_connections", ["status", "next_sync_at"]
    )
    op.create_table(
        "provider_accounts",
        sa.Column("account_id", sa.String(40), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(40),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("connection_id", sa.String(40), nullable=False),
        sa.Column("provider_account_id", sa.String(255)),
        sa.Column("owner_name", sa.String(255)),
        sa.Column("balances", JSONType),
        sa.Column("balances_updated_at", UTCDateTime()),
        sa.Column("synced_through", sa.Date()),
        sa.Column("last_synced_at", UTCDateTime()),
        sa.Column("provider_calls", JSONType),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "account_id"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "account_id"],
            ["bank_accounts.tenant_id", "bank_accounts.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "connection_id"],
            ["bank_connections.tenant_id", "bank_connections.id"],
        ),
    )
    op.create_index(
        "ix_provider_accounts_tenant_connection",
        "provider_accounts",
        ["tenant_id", "connection_id"],
    )
    op.create_table(
        "provider_credentials",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(40),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("provider", sa.String(40), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "provider"),
    )
    op.create_table(
        "provider_tokens",
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
    )
    # A plain ADD COLUMN (no batch copy) on SQLite: jobs is referenced by nothing.
    op.add_column("jobs", sa.Column("subject_id", sa.String(40)))
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in policies.enable(table):
                op.execute(statement)


def downgrade() -> None:
    op.drop_column("jobs", "subject_id")
    op.drop_table("provider_tokens")
    op.drop_table("provider_credentials")
    op.drop_table("provider_accounts")
    op.drop_table("bank_connections")
