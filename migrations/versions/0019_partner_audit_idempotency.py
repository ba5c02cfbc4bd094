"""partner audit and idempotency: the partner API's writes are audited and retry-safe

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 09:00:00.000000

New tables only: ``partner_audit_logs`` (one row per mutating partner API call) and
``partner_idempotency_records`` (a first response replayed for the same key, 24 h).
"""

import sqlalchemy as sa
from alembic import op

from payymo.db import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def _partner_column() -> sa.Column:
    return sa.Column(
        "partner_id",
        sa.String(40),
        sa.ForeignKey("partners.id", ondelete="CASCADE"),
        nullable=False,
    )


def upgrade() -> None:
    op.create_table(
        "partner_audit_logs",
        sa.Column("id", sa.String(40), primary_key=True),
        _partner_column(),
        sa.Column("tenant_id", sa.String(40)),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("resource_type", sa.String(50)),
        sa.Column("resource_id", sa.String(40)),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error_code", sa.String(100)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("client_request_id", sa.String(64)),
        sa.Column("ip", sa.String(64)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_partner_audit_logs_partner_id_id", "partner_audit_logs", ["partner_id", "id"]
    )
    op.create_table(
        "partner_idempotency_records",
        sa.Column("id", sa.String(40), primary_key=True),
        _partner_column(),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("method", sa.String(10), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("response_status", sa.Integer()),
        sa.Column("response_body", sa.Text()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("partner_id", "key"),
    )
    op.create_index(
        "ix_partner_idempotency_records_expires_at",
        "partner_idempotency_records",
        ["expires_at"],
    )


def downgrade() -> None:
    op.drop_table("partner_idempotency_records")
    op.drop_table("partner_audit_logs")
