"""invoice disputes: the status of a card dispute over a payment for the invoice

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 05:00:00.000000

A nullable column, added in place on both databases (on SQLite a plain ADD COLUMN: no
batch copy, so invoices keeps its change_seq triggers; see 0007).
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("invoices", sa.Column("dispute_status", sa.String(40), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops an unconstrained column in place: the triggers stay.
    op.execute("ALTER TABLE invoices DROP COLUMN dispute_status")
