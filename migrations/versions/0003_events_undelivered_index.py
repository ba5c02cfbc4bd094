"""events undelivered partial index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 14:40:14.294050
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_events_delivered_at"), table_name="events")
    op.create_index(
        "ix_events_undelivered",
        "events",
        ["id"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_events_undelivered",
        table_name="events",
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )
    op.create_index(op.f("ix_events_delivered_at"), "events", ["delivered_at"], unique=False)
