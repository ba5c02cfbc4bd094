"""payymo_analyze may analyze suggestions: incremental runs look them up by credit

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-30 02:00:00.000000

A full run writes a tenant's suggestions in one burst (109,000 at 10M lines). Planned on
the statistics from before it (504 rows expected for the tenant), the next incremental
run's ``with_open_suggestions`` read all the tenant's suggestions once per chunk of
1,000 credits instead of probing ``(transaction_id, status)``: 11.4 s of a 48 s run. The
run now refreshes the statistics of ``suggestions`` when the table has doubled, as it
does for the look-up tables; the app's role may only do that through this function.
"""

from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

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
BEFORE = ("transactions", "invoices", "reconcile_items", "reconcile_keys", "reconcile_words")
AFTER = (*BEFORE, "suggestions")


def _function(tables) -> str:
    bind = op.get_bind()
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    quoted = bind.dialect.identifier_preparer.quote(schema)
    return ANALYZE.format(schema=quoted, tables=", ".join(f"'{t}'" for t in tables))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(AFTER))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_function(BEFORE))
