"""tenant offboardings: a record of each partner tenant offboarded, kept after its purge

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 06:30:00.000000

A new table only. It is not a tenant table: a record outlives the tenant it describes.
"""

import sqlalchemy as sa
from alembic import op

from payymo.db import JSONType, UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tenant_offboardings",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("tenant_id", sa.String(40), nullable=False, unique=True),
        sa.Column("partner_id", sa.String(40), sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("tenant_name", sa.String(200), nullable=False),
        sa.Column("offboarded_at", UTCDateTime(), nullable=False),
        sa.Column("purge_after", UTCDateTime(), nullable=False),
        sa.Column("purged_at", UTCDateTime()),
        sa.Column("unrevoked_connections", JSONType, nullable=False),
        sa.Column("counts", JSONType),
    )
    op.create_index("ix_tenant_offboardings_partner_id", "tenant_offboardings", ["partner_id"])
    op.create_index("ix_tenant_offboardings_purge_after", "tenant_offboardings", ["purge_after"])


def downgrade() -> None:
    op.drop_table("tenant_offboardings")
