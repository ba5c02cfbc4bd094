"""payout allocations: a bank credit matched to the Stripe payout it is

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 04:00:00.000000

A new table only (matches is not altered): a match's target is either its invoice
allocations or one payout allocation. One active line per payout.
"""

import sqlalchemy as sa
from alembic import op

from payymo.db import UTCDateTime
from payymo.tenancy import policies

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _fk(column: str, table: str, **kwargs) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"], **kwargs
    )


def upgrade() -> None:
    op.create_table(
        "payout_allocations",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column(
            "tenant_id",
            sa.String(40),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("match_id", sa.String(40), nullable=False),
        sa.Column("transaction_id", sa.String(40), nullable=False),
        sa.Column("payout_id", sa.String(40), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_payout_allocations_amount_positive")),
        _fk("match_id", "matches", ondelete="CASCADE"),
        _fk("transaction_id", "transactions", ondelete="CASCADE"),
        _fk("payout_id", "stripe_payouts", ondelete="CASCADE"),
    )
    op.create_index("ix_payout_allocations_match_id", "payout_allocations", ["match_id"])
    op.create_index("ix_payout_allocations_payout_id", "payout_allocations", ["payout_id"])
    op.create_index(
        "ux_payout_allocations_active_payout",
        "payout_allocations",
        ["payout_id"],
        unique=True,
        postgresql_where=sa.text("status = 'active'"),
        sqlite_where=sa.text("status = 'active'"),
    )
    if op.get_bind().dialect.name == "postgresql":
        for statement in policies.enable("payout_allocations"):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("payout_allocations")
