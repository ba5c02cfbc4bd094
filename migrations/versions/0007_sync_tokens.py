"""sync tokens: change_seq stamped by triggers on invoices, transactions and events

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 14:00:00.000000

PostgreSQL stamps each written row with the writing transaction's id (a BEFORE trigger,
so ORM, Core and COPY writes are all covered). SQLite has one writer at a time, so a
counter bumped inside the write transaction orders changes as they commit.

Careful with later migrations on SQLite: a batch operation that recreates one of these
tables ("move and copy") drops its triggers; recreate them with ``_sqlite_triggers``'s
statements afterwards (tests/api/test_sync_tokens.py checks they exist at head).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# table -> whether updates move the row forward too (events are written once).
STAMPED = {"invoices": True, "transactions": True, "events": False}

PG_FUNCTION = """
CREATE FUNCTION stamp_change_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- xid8 has no cast to bigint; its text form is the 64-bit number.
    NEW.change_seq := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END
$$
"""

SQLITE_TRIGGER = """
CREATE TRIGGER {table}_change_seq_{when} AFTER {event} ON {table}{guard}
BEGIN
    UPDATE sync_clock SET value = value + 1 WHERE id = 1;
    UPDATE {table} SET change_seq = (SELECT value FROM sync_clock WHERE id = 1)
    WHERE id = NEW.id;
END
"""


def _sqlite_triggers(table: str, on_update: bool) -> list[str]:
    statements = [SQLITE_TRIGGER.format(table=table, when="insert", event="INSERT", guard="")]
    if on_update:
        # The guard keeps the trigger's own UPDATE from firing it again.
        guard = "\nWHEN NEW.change_seq IS OLD.change_seq"
        statements.append(
            SQLITE_TRIGGER.format(table=table, when="update", event="UPDATE", guard=guard)
        )
    return statements


def upgrade() -> None:
    op.create_table(
        "sync_clock",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_sync_clock_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_clock")),
    )
    for table in STAMPED:
        op.add_column(
            table,
            sa.Column("change_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        )
        op.create_index(
            f"ix_{table}_tenant_change_seq", table, ["tenant_id", "change_seq"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table, on_update in STAMPED.items():
            events = "INSERT OR UPDATE" if on_update else "INSERT"
            op.execute(
                f"CREATE TRIGGER {table}_change_seq BEFORE {events} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION stamp_change_seq()"
            )
    else:
        op.execute("INSERT INTO sync_clock (id, value) VALUES (1, 0)")
        for table, on_update in STAMPED.items():
            for statement in _sqlite_triggers(table, on_update):
                op.execute(statement)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table, on_update in STAMPED.items():
        if postgres:
            op.execute(f"DROP TRIGGER {table}_change_seq ON {table}")
        else:
            op.execute(f"DROP TRIGGER {table}_change_seq_insert")
            if on_update:
                op.execute(f"DROP TRIGGER {table}_change_seq_update")
        op.drop_index(f"ix_{table}_tenant_change_seq", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("change_seq")
    if postgres:
        op.execute("DROP FUNCTION stamp_change_seq()")
    op.drop_table("sync_clock")
