"""table statistics: let the app refresh the planner's statistics after bulk changes

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 22:55:00.000000

Only a table's owner may ANALYZE it, and the app connects as a role that owns nothing.
``payymo_analyze(name)`` runs as the owner (SECURITY DEFINER) and analyzes only the
tables named here, so the app can refresh statistics right after a bulk load instead of
waiting for autovacuum (see ``services.table_statistics``). PostgreSQL only.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# {schema} is the migration's own schema: a SECURITY DEFINER function pins its path.
FUNCTION = """
CREATE FUNCTION payymo_analyze(target text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
BEGIN
    IF target NOT IN ('transactions', 'invoices') THEN
        RAISE EXCEPTION 'payymo_analyze: % is not a table it may analyze', target;
    END IF;
    EXECUTE format('ANALYZE %I', target);
END
$$
"""


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    op.execute(FUNCTION.format(schema=bind.dialect.identifier_preparer.quote(schema)))
    op.execute("REVOKE ALL ON FUNCTION payymo_analyze(text) FROM PUBLIC")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION payymo_analyze(text)")
