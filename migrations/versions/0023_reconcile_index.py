"""incremental reconciliation: a change log kept by triggers, and the runs' look-up tables

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-29 14:00:00.000000

``reconcile_changes`` is appended by triggers (``services.reconciliation.change_triggers``)
whenever a credit, an invoice, a match block, payer memory or a tenant's settings
change. ``reconcile_items``, ``reconcile_keys`` and ``reconcile_words`` are the look-up
tables runs keep for the open rows. Every existing tenant gets a ``full`` change: its
next run is a full one and fills the look-up tables.
"""

import sqlalchemy as sa
from alembic import op

from payymo.services.reconciliation import change_triggers
from payymo.tenancy import policies

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

TABLES = ("reconcile_changes", "reconcile_items", "reconcile_keys", "reconcile_words")
# payymo_analyze (0010) may also analyze the look-up tables: a full run fills them.
ANALYZE = """
CREATE OR REPLACE FUNCTION payymo_analyze(target text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
BEGIN
    IF target NOT IN ({tables}) THEN
        RAISE EXCEPTION 'payymo_analyze: % is not a table it may analyze', target;
    END IF;
    EXECUTE format('ANALYZE %I', target);
END
$$
"""
ANALYZED_BEFORE = ("transactions", "invoices")
ANALYZED = (*ANALYZED_BEFORE, "reconcile_items", "reconcile_keys", "reconcile_words")


def _analyze_function(tables) -> str:
    schema = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    quoted = op.get_bind().dialect.identifier_preparer.quote(schema)
    return ANALYZE.format(schema=quoted, tables=", ".join(f"'{t}'" for t in tables))


CHURN_SETTINGS = "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000"


def _tenant() -> sa.Column:
    return sa.Column(
        "tenant_id",
        sa.String(40),
        sa.ForeignKey("tenants.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "reconcile_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        _tenant(),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("object_id", sa.String(300), nullable=True),
    )
    op.create_index("ix_reconcile_changes_tenant_id", "reconcile_changes", ["tenant_id", "id"])
    op.create_table(
        "reconcile_items",
        _tenant(),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("object_id", sa.String(40), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("open_amount", sa.BigInteger(), nullable=False),
        sa.Column("customer", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "side", "object_id"),
    )
    op.create_index(
        "ix_reconcile_items_amount",
        "reconcile_items",
        ["tenant_id", "side", "currency", "open_amount"],
    )
    op.create_table(
        "reconcile_keys",
        _tenant(),
        sa.Column("side", sa.String(1), nullable=False),
        sa.Column("object_id", sa.String(40), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "side", "object_id", "key"),
    )
    op.create_index(
        "ix_reconcile_keys_lookup", "reconcile_keys", ["tenant_id", "side", "key", "object_id"]
    )
    op.create_table(
        "reconcile_words",
        _tenant(),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("word", sa.String(255), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("invoices", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "currency", "word", "name"),
    )
    op.execute("INSERT INTO reconcile_changes (tenant_id, kind) SELECT id, 'full' FROM tenants")
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in policies.enable(table):
                op.execute(statement)
        # A trigger may append a change whatever the scope (as rollup deltas may).
        op.execute(
            "CREATE POLICY trigger_appends ON reconcile_changes FOR INSERT WITH CHECK (true)"
        )
        op.execute(f"ALTER TABLE reconcile_changes SET ({CHURN_SETTINGS})")
        op.execute(_analyze_function(ANALYZED))
        for statement in change_triggers.postgresql_install():
            op.execute(statement)
    else:
        for statement in change_triggers.sqlite_install():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_analyze_function(ANALYZED_BEFORE))
        for statement in change_triggers.postgresql_remove():
            op.execute(statement)
    else:
        for statement in change_triggers.sqlite_remove():
            op.execute(statement)
    for table in reversed(TABLES):
        op.drop_table(table)
