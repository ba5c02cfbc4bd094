"""transactions: date and amount indexes that end in the id, for short ranges paged by value

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-29 15:40:00.000000

A list filtered to a short booking-date or amount range reads the newest lines of each
day or amount through ``(tenant_id, booking_date, id)`` and ``(tenant_id, amount, id)``
(``pagination.Spread``); the date index replaces ``(tenant_id, booking_date)``, which it
covers. On PostgreSQL the indexes are built ``CONCURRENTLY`` (outside the migration's
transaction), so writes to a big table go on while they build; a build that failed
leaves an invalid index, which the next upgrade drops and builds again.
"""

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

NEW = (
    ("ix_transactions_tenant_booking_date_id", "tenant_id, booking_date, id"),
    ("ix_transactions_tenant_amount_id", "tenant_id, amount, id"),
)
OLD = ("ix_transactions_tenant_booking_date", "tenant_id, booking_date")


def _create(name: str, columns: str, *, concurrently: bool) -> None:
    how = " CONCURRENTLY" if concurrently else ""
    op.execute(f"CREATE INDEX{how} IF NOT EXISTS {name} ON transactions ({columns})")


def _drop(name: str, *, concurrently: bool) -> None:
    how = " CONCURRENTLY" if concurrently else ""
    op.execute(f"DROP INDEX{how} IF EXISTS {name}")


def _invalid(names) -> list[str]:
    rows = op.get_bind().exec_driver_sql(
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE NOT i.indisvalid AND c.relname = ANY(%(names)s)",
        {"names": list(names)},
    )
    return [name for (name,) in rows]


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for name, columns in NEW:
            _create(name, columns, concurrently=False)
        _drop(OLD[0], concurrently=False)
        return
    with op.get_context().autocommit_block():
        for name in _invalid(name for name, _ in NEW):
            _drop(name, concurrently=True)
        for name, columns in NEW:
            _create(name, columns, concurrently=True)
        _drop(OLD[0], concurrently=True)


def downgrade() -> None:
    concurrently = op.get_bind().dialect.name == "postgresql"
    if concurrently:
        with op.get_context().autocommit_block():
            _create(*OLD, concurrently=True)
            for name, _ in NEW:
                _drop(name, concurrently=True)
        return
    _create(*OLD, concurrently=False)
    for name, _ in NEW:
        _drop(name, concurrently=False)
