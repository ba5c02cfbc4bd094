"""partner webhooks: a partner's endpoints hear the events of every tenant it owns

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 08:00:00.000000

A new table of partner-owned endpoints; a delivery now points at a tenant's endpoint or
at a partner's (exactly one). On SQLite making ``endpoint_id`` nullable copies
``webhook_deliveries``: migrations run with foreign keys off, so dropping the old copy
does not cascade to ``webhook_attempts``, and the partial due index is dropped and made
again around the copy so it keeps its WHERE clause.
"""

import sqlalchemy as sa
from alembic import op

from payymo.db import JSONType, UTCDateTime

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_DUE = sa.text("status = 'pending'")


def _drop_due_index() -> None:
    op.drop_index(
        "ix_webhook_deliveries_due",
        table_name="webhook_deliveries",
        postgresql_where=_DUE,
        sqlite_where=_DUE,
    )


def _create_due_index() -> None:
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at", "id"],
        postgresql_where=_DUE,
        sqlite_where=_DUE,
    )


def upgrade() -> None:
    op.create_table(
        "partner_webhook_endpoints",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "partner_id",
            sa.String(40),
            sa.ForeignKey("partners.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event_types", JSONType, nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.Text()),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text()),
        sa.Column("previous_secret_expires_at", UTCDateTime()),
        sa.Column("failing_since", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )
    op.create_index(
        "ix_partner_webhook_endpoints_partner_id", "partner_webhook_endpoints", ["partner_id"]
    )
    _drop_due_index()
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.alter_column("endpoint_id", existing_type=sa.String(40), nullable=True)
        batch.add_column(sa.Column("partner_endpoint_id", sa.String(40), nullable=True))
        batch.create_foreign_key(
            op.f("fk_webhook_deliveries_partner_endpoint_id_partner_webhook_endpoints"),
            "partner_webhook_endpoints",
            ["partner_endpoint_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint(
            op.f("uq_webhook_deliveries_partner_endpoint_id_event_id"),
            ["partner_endpoint_id", "event_id"],
        )
        batch.create_check_constraint(
            op.f("ck_webhook_deliveries_one_endpoint"),
            "(endpoint_id IS NULL) <> (partner_endpoint_id IS NULL)",
        )
    _create_due_index()
    op.create_index(
        "ix_webhook_deliveries_partner_endpoint",
        "webhook_deliveries",
        ["partner_endpoint_id", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_partner_endpoint", table_name="webhook_deliveries")
    op.execute("DELETE FROM webhook_deliveries WHERE partner_endpoint_id IS NOT NULL")
    _drop_due_index()
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_constraint(op.f("ck_webhook_deliveries_one_endpoint"), type_="check")
        batch.drop_constraint(
            op.f("uq_webhook_deliveries_partner_endpoint_id_event_id"), type_="unique"
        )
        batch.drop_constraint(
            op.f("fk_webhook_deliveries_partner_endpoint_id_partner_webhook_endpoints"),
            type_="foreignkey",
        )
        batch.drop_column("partner_endpoint_id")
        batch.alter_column("endpoint_id", existing_type=sa.String(40), nullable=False)
    _create_due_index()
    op.drop_table("partner_webhook_endpoints")
