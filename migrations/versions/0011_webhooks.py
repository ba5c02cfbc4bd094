"""webhooks: endpoints, deliveries and attempts; events are dispatched, not delivered

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 01:00:00.000000

``events.delivered_at`` becomes ``dispatched_at``: an event is done once the dispatcher
has created its deliveries (one per subscribed endpoint); each delivery then carries its
own state. ``(tenant_id, id)`` on events becomes unique so deliveries can point at it.
New tables otherwise, so SQLite needs no table copy.
"""

import sqlalchemy as sa
from alembic import op

from payymo.db import JSONType, UTCDateTime
from payymo.tenancy import policies

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("webhook_endpoints", "webhook_deliveries", "webhook_attempts")


def _tenant_column() -> sa.Column:
    return sa.Column(
        "tenant_id", sa.String(40), sa.ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
    )


def _events_up() -> None:
    op.drop_index(
        "ix_events_undelivered",
        table_name="events",
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )
    op.execute("ALTER TABLE events RENAME COLUMN delivered_at TO dispatched_at")
    op.create_index(
        "ix_events_undispatched",
        "events",
        ["id"],
        postgresql_where=sa.text("dispatched_at IS NULL"),
        sqlite_where=sa.text("dispatched_at IS NULL"),
    )
    op.drop_index("ix_events_tenant_id_id", table_name="events")
    op.create_index("ix_events_tenant_id_id", "events", ["tenant_id", "id"], unique=True)


def upgrade() -> None:
    _events_up()
    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant_column(),
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
        sa.UniqueConstraint("tenant_id", "id"),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant_column(),
        sa.Column("endpoint_id", sa.String(40), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("schedule_step", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime()),
        sa.Column("leased_until", UTCDateTime()),
        sa.Column("last_attempt_at", UTCDateTime()),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("last_error", sa.Text()),
        sa.Column("delivered_at", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("tenant_id", "id"),
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.id"],
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "event_id"], ["events.tenant_id", "events.id"], ondelete="CASCADE"
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_endpoint",
        "webhook_deliveries",
        ["tenant_id", "endpoint_id", "id"],
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_event", "webhook_deliveries", ["tenant_id", "event_id"]
    )
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at", "id"],
        postgresql_where=sa.text("status = 'pending'"),
        sqlite_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.String(40), primary_key=True),
        _tenant_column(),
        sa.Column("delivery_id", sa.String(40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("attempted_at", UTCDateTime(), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("response_excerpt", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["webhook_deliveries.tenant_id", "webhook_deliveries.id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_webhook_attempts_tenant_delivery", "webhook_attempts", ["tenant_id", "delivery_id"]
    )
    if op.get_bind().dialect.name == "postgresql":
        for table in TABLES:
            for statement in policies.enable(table):
                op.execute(statement)


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    op.drop_index("ix_events_tenant_id_id", table_name="events")
    op.create_index("ix_events_tenant_id_id", "events", ["tenant_id", "id"])
    op.drop_index(
        "ix_events_undispatched",
        table_name="events",
        postgresql_where=sa.text("dispatched_at IS NULL"),
        sqlite_where=sa.text("dispatched_at IS NULL"),
    )
    op.execute("ALTER TABLE events RENAME COLUMN dispatched_at TO delivered_at")
    op.create_index(
        "ix_events_undelivered",
        "events",
        ["id"],
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )
