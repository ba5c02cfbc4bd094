"""events: the type index carries the id, so a filtered page is read in order

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 12:00:00.000000

``GET /events?type=…`` pages newest first: with ``(tenant_id, type, id)`` PostgreSQL
reads the page's rows straight off the index instead of sorting every event of that
type the tenant ever had.
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_events_tenant_type_id", "events", ["tenant_id", "type", "id"])
    op.drop_index("ix_events_tenant_type", table_name="events")


def downgrade() -> None:
    op.create_index("ix_events_tenant_type", "events", ["tenant_id", "type"])
    op.drop_index("ix_events_tenant_type_id", table_name="events")
