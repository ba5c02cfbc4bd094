"""large tables: the events type index carries the id; autovacuum keeps up with big tables

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 12:00:00.000000

``GET /events?type=…`` pages newest first: with ``(tenant_id, type, id)`` PostgreSQL
reads the page's rows straight off the index instead of sorting every event of that
type the tenant ever had.

PostgreSQL's autovacuum defaults wait until 20% of a table changed: on a 100M-row table
that is 20M dead rows. The big tables are vacuumed after 1% (analyzed after 0.5%), and
``rollup_deltas``, emptied by every fold, after a fixed 10,000 rows.
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


BIG = ("transactions", "invoices", "events", "matches", "allocations", "audit_logs")
BIG_SETTINGS = (
    "autovacuum_vacuum_scale_factor = 0.01, autovacuum_analyze_scale_factor = 0.005, "
    "autovacuum_vacuum_cost_limit = 2000"
)
CHURN_SETTINGS = "autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000"
RESET = (
    "autovacuum_vacuum_scale_factor, autovacuum_analyze_scale_factor, "
    "autovacuum_vacuum_cost_limit, autovacuum_vacuum_threshold"
)


def upgrade() -> None:
    op.create_index("ix_events_tenant_type_id", "events", ["tenant_id", "type", "id"])
    op.drop_index("ix_events_tenant_type", table_name="events")
    if op.get_bind().dialect.name == "postgresql":
        for table in BIG:
            op.execute(f"ALTER TABLE {table} SET ({BIG_SETTINGS})")
        op.execute(f"ALTER TABLE rollup_deltas SET ({CHURN_SETTINGS})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in (*BIG, "rollup_deltas"):
            op.execute(f"ALTER TABLE {table} RESET ({RESET})")
    op.create_index("ix_events_tenant_type", "events", ["tenant_id", "type"])
    op.drop_index("ix_events_tenant_type_id", table_name="events")
