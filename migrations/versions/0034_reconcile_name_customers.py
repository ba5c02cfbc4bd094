"""incremental reconciliation: the customers whose open invoices carry each name key

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-30 12:00:00.000000

A payer's name and name words (``n:``, ``w:`` keys) reach the customers whose invoices
carry them. A run found those customers by joining each key's invoice rows to their
items: 12,000 probes for the names of 300 new lines, 0.2 to 0.3 s of a 1.3 s run.
``reconcile_name_customers`` keeps one row per (key, customer) with its count of open
invoices, brought up to date with the other look-up tables. It is filled here from
those tables (``reconcile_keys`` and ``reconcile_items`` are locked against writes until
the commit: only runs write them), so no tenant needs a full run for it.
"""

import sqlalchemy as sa
from alembic import op

from payymo.tenancy import policies

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

TABLE = "reconcile_name_customers"
LOOKUP_SETTINGS = (
    "autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.005, "
    "autovacuum_vacuum_cost_limit = 2000"
)
BACKFILL = """
INSERT INTO reconcile_name_customers (tenant_id, key, customer, invoices)
SELECT k.tenant_id, k.key, i.customer, count(*)
FROM reconcile_keys k
JOIN reconcile_items i
    ON i.tenant_id = k.tenant_id AND i.side = k.side AND i.object_id = k.object_id
WHERE k.side = 'i' AND (k.key LIKE 'n:%' OR k.key LIKE 'w:%')
GROUP BY k.tenant_id, k.key, i.customer
"""
SOURCES = ("reconcile_keys", "reconcile_items")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column(
            "tenant_id",
            sa.String(40),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("customer", sa.String(300), nullable=False),
        sa.Column("invoices", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "key", "customer"),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.execute(BACKFILL)
        return
    op.execute(f"LOCK TABLE {', '.join(SOURCES)} IN SHARE MODE")
    # The owner is behind the forced policy too: the copy reads every tenant's rows
    # without it, inside this transaction.
    for table in SOURCES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(BACKFILL)
    for table in SOURCES:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    for statement in policies.enable(TABLE, policies.condition_in_use(bind)):
        op.execute(statement)
    op.execute(f"ALTER TABLE {TABLE} SET ({LOOKUP_SETTINGS})")


def downgrade() -> None:
    op.drop_table(TABLE)
