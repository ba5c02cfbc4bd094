"""bank charges: what an allocation wrote off as a bank charge, and an invoice's total

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000

``allocations.charge`` is the part of an invoice a match settled without money (a bank
charge the tenant's ``charge_tolerance`` covers); ``invoices.amount_charged`` is the sum
over its live allocations, so the open amount is amount_due - amount_paid - amount_charged.

On SQLite the columns are added with ALTER TABLE ... ADD COLUMN, check included, not in
batch mode: a batch "move and copy" of invoices would drop its change_seq triggers (see
0007) and, with foreign keys on, dropping the old table would cascade to its allocations.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (("invoices", "amount_charged"), ("allocations", "charge"))


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, column in COLUMNS:
        check = f"ck_{table}_{column}_non_negative"
        if postgres:
            op.add_column(
                table,
                sa.Column(column, sa.BigInteger(), server_default=sa.text("0"), nullable=False),
            )
            op.create_check_constraint(check, table, f"{column} >= 0")
        else:
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} BIGINT DEFAULT 0 NOT NULL "
                f"CONSTRAINT {check} CHECK ({column} >= 0)"
            )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, column in COLUMNS:
        if postgres:
            op.drop_constraint(f"ck_{table}_{column}_non_negative", table, type_="check")
        # SQLite (3.35+) drops a column in place when no index or constraint but its own
        # check names it: no table copy, the triggers stay.
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
