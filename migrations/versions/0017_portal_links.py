"""portal links: one-time sign-in links to the partner-branded portal

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 07:00:00.000000

A new table only: a partner's link for one of its tenants (only the token's hash kept).
"""

import sqlalchemy as sa
from alembic import op

from payymo.db import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "portal_links",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "partner_id",
            sa.String(40),
            sa.ForeignKey("partners.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "tenant_id",
            sa.String(40),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("return_url", sa.Text()),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("used_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_portal_links_partner_id", "portal_links", ["partner_id"])
    op.create_index("ix_portal_links_tenant_id", "portal_links", ["tenant_id"])


def downgrade() -> None:
    op.drop_table("portal_links")
