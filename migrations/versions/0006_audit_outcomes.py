"""audit logs: why a request failed, and the client's own request id

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_logs") as batch:
        batch.add_column(sa.Column("error_code", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("client_request_id", sa.String(length=64), nullable=True))
    # Actors are key ids from now on; earlier rows named the key's display prefix.
    op.execute("UPDATE audit_logs SET actor = api_key_id WHERE api_key_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("audit_logs") as batch:
        batch.drop_column("client_request_id")
        batch.drop_column("error_code")
