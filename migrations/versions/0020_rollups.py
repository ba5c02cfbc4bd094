"""rollups: per-tenant counts and sums kept exact by triggers, for stats and summaries

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 10:00:00.000000

Two tables (``rollups``, and on PostgreSQL ``rollup_deltas`` appended by statement
triggers and folded in by the job sweep), the triggers on transactions, matches,
invoices and suggestions (``payymo.services.rollups.triggers``), and a backfill of every
group from the rows already there.
"""

import sqlalchemy as sa
from alembic import op

from payymo.models.rollup import DIMENSIONS
from payymo.services.rollups import definitions, triggers
from payymo.tenancy import policies

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

TABLES = ("rollups", "rollup_deltas")


def _columns() -> list[sa.Column]:
    return [
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("tenant_id", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("account_id", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("month", sa.String(10), nullable=False),
        sa.Column("received", sa.String(7), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(20), nullable=False),
        sa.Column("item_count", sa.BigInteger(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_allocated", sa.BigInteger(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "rollups",
        *_columns(),
        sa.UniqueConstraint("tenant_id", *DIMENSIONS, name="uq_rollups_group"),
    )
    op.create_table("rollup_deltas", *_columns())
    op.create_index("ix_rollup_deltas_tenant_subject", "rollup_deltas", ["tenant_id", "subject"])
    dialect = op.get_bind().dialect.name
    columns = ", ".join(definitions.COLUMNS)
    op.execute(f"INSERT INTO rollups ({columns}) {definitions.recompute_sql(dialect)}")
    if dialect == "postgresql":
        for table in TABLES:
            for statement in policies.enable(table):
                op.execute(statement)
        # The triggers record every change, also those the database makes outside any
        # tenant's scope (a tenant's purge cascading into its rows): a delta may always
        # be appended. Reading, folding and deleting stay behind the tenant policy.
        op.execute("CREATE POLICY trigger_appends ON rollup_deltas FOR INSERT WITH CHECK (true)")
        for statement in triggers.postgresql_install():
            op.execute(statement)
    else:
        for statement in triggers.sqlite_install():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in triggers.postgresql_remove():
            op.execute(statement)
    else:
        for statement in triggers.sqlite_remove():
            op.execute(statement)
    op.drop_table("rollup_deltas")
    op.drop_table("rollups")
