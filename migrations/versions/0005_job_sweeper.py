"""jobs: attempts and next_attempt_at for the sweeper's retries

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

import payymo.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(
            sa.Column("next_attempt_at", payymo.db.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_index(
        "ix_jobs_status_next_attempt_at", "jobs", ["status", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_jobs_status_next_attempt_at", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("next_attempt_at")
        batch.drop_column("attempts")
