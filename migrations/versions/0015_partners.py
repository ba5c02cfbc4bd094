"""partners: white-label resellers, their API keys, and the tenants they own

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 06:00:00.000000

Two new tables (not tenant tables: a partner's rows are reached by its key, outside any
tenant's scope) and ``tenants.partner_id``. On SQLite the column is a plain ADD COLUMN
with an inline REFERENCES (no batch copy of tenants, which every tenant table points at).
"""

import sqlalchemy as sa
from alembic import op

from payymo.db import JSONType, UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("branding", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "partner_keys",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "partner_id",
            sa.String(40),
            sa.ForeignKey("partners.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100)),
        sa.Column("prefix", sa.String(20), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("scopes", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime()),
        sa.Column("revoked_at", UTCDateTime()),
    )
    op.create_index("ix_partner_keys_partner_id", "partner_keys", ["partner_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.add_column("tenants", sa.Column("partner_id", sa.String(40), nullable=True))
        op.create_foreign_key(
            "fk_tenants_partner_id_partners", "tenants", "partners", ["partner_id"], ["id"]
        )
    else:
        op.execute(
            "ALTER TABLE tenants ADD COLUMN partner_id VARCHAR(40) "
            "CONSTRAINT fk_tenants_partner_id_partners REFERENCES partners (id)"
        )
    op.create_index("ix_tenants_partner_id", "tenants", ["partner_id"])


def downgrade() -> None:
    op.drop_index("ix_tenants_partner_id", table_name="tenants")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint("fk_tenants_partner_id_partners", "tenants", type_="foreignkey")
        op.drop_column("tenants", "partner_id")
    else:
        op.execute("ALTER TABLE tenants DROP COLUMN partner_id")
    op.drop_table("partner_keys")
    op.drop_table("partners")
