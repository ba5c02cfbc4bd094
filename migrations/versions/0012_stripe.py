"""stripe: linked accounts, payments, payouts, their balance transactions, inbound events

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 02:00:00.000000

New tables only.
"""

import sqlalchemy as sa
from alembic import op

from payymo.db import JSONType, UTCDateTime
from payymo.tenancy import policies

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

TABLES = (
    "stripe_links",
    "stripe_payments",
    "stripe_payouts",
    "stripe_balance_transactions",
    "stripe_events",
)


def _tenant() -> sa.Column:
    return sa.Column(
        "tenant_id", sa.String(40), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def _times() -> list[sa.Column]:
    return [
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "stripe_links",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant(),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("key_hint", sa.String(40), nullable=False),
        sa.Column("livemode", sa.Boolean(), nullable=False),
        sa.Column("webhook_secret", sa.Text(), nullable=False),
        sa.Column("last_synced_at", UTCDateTime()),
        sa.Column("sync_cursors", JSONType, nullable=False),
        *_times(),
        sa.UniqueConstraint("tenant_id"),
    )
    op.create_table(
        "stripe_payments",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant(),
        sa.Column("stripe_id", sa.String(255), nullable=False),
        sa.Column("invoice_id", sa.String(40)),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_received", sa.BigInteger(), nullable=False),
        sa.Column("amount_refunded", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("fee", sa.BigInteger()),
        sa.Column("net", sa.BigInteger()),
        sa.Column("customer", sa.String(255)),
        sa.Column("description", sa.Text()),
        sa.Column("charge_id", sa.String(255)),
        sa.Column("balance_transaction_id", sa.String(255)),
        sa.Column("dispute_status", sa.String(40)),
        sa.Column("failure_message", sa.Text()),
        sa.Column("decline_code", sa.String(60)),
        sa.Column("stripe_created", UTCDateTime(), nullable=False),
        sa.Column("transaction_id", sa.String(40)),
        sa.Column("match_id", sa.String(40)),
        *_times(),
        sa.UniqueConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "stripe_id"),
        sa.ForeignKeyConstraint(["tenant_id", "invoice_id"], ["invoices.tenant_id", "invoices.id"]),
    )
    op.create_index(
        "ix_stripe_payments_tenant_invoice", "stripe_payments", ["tenant_id", "invoice_id"]
    )
    op.create_table(
        "stripe_payouts",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant(),
        sa.Column("stripe_id", sa.String(255), nullable=False),
        sa.Column("status", sa.String(40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("arrival_date", sa.Date(), nullable=False),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("reconciliation_status", sa.String(40)),
        sa.Column("trace_id", sa.String(255)),
        sa.Column("failure_code", sa.String(60)),
        sa.Column("failure_message", sa.Text()),
        sa.Column("breakdown", JSONType),
        sa.Column("breakdown_source", sa.String(40)),
        sa.Column("bank_transaction_id", sa.String(40)),
        sa.Column("stripe_created", UTCDateTime(), nullable=False),
        *_times(),
        sa.UniqueConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "stripe_id"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "bank_transaction_id"], ["transactions.tenant_id", "transactions.id"]
        ),
    )
    op.create_table(
        "stripe_balance_transactions",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant(),
        sa.Column("stripe_id", sa.String(255), nullable=False),
        sa.Column("payout_id", sa.String(40), nullable=False),
        sa.Column("payment_id", sa.String(40)),
        sa.Column("type", sa.String(60), nullable=False),
        sa.Column("reporting_category", sa.String(60)),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("fee", sa.BigInteger(), nullable=False),
        sa.Column("net", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("source_id", sa.String(255)),
        sa.Column("available_on", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "stripe_id"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "payout_id"],
            ["stripe_payouts.tenant_id", "stripe_payouts.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "payment_id"], ["stripe_payments.tenant_id", "stripe_payments.id"]
        ),
    )
    op.create_index(
        "ix_stripe_balance_transactions_tenant_payout",
        "stripe_balance_transactions",
        ["tenant_id", "payout_id"],
    )
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant(),
        sa.Column("stripe_event_id", sa.String(255), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("payload", JSONType, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("processed_at", UTCDateTime()),
        sa.Column("outcome", sa.Text()),
        sa.UniqueConstraint("tenant_id", "stripe_event_id"),
    )
    op.create_index(
        "ix_stripe_events_unprocessed",
        "stripe_events",
        ["id"],
        postgresql_where=sa.text("processed_at IS NULL"),
        sqlite_where=sa.text("processed_at IS NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in policies.enable(table):
                op.execute(statement)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
