"""search: trigram indexes keep PostgreSQL's 4 MB pending lists; the job sweep merges them

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-30 09:10:00.000000

Migration 0032 gave the trigram indexes 256 kB pending lists so that searches read
little of them; every write then merged small lists (600 status changes at 11M lines:
0.5 to 1.2 s, against 0.3 to 0.4 s with 4 MB). The limit goes back to 4 MB
(``search_indexes.PENDING_LIST_KB``), and ``payymo_merge_search_lists()``, which the job
sweep calls every minute, merges the lists as the indexes' owner would.
"""

from alembic import op

from payymo.services import search_indexes

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

LIST_KB = 4096  # PostgreSQL's default (search_indexes.PENDING_LIST_KB then)
SHORT_LIST_KB = 256  # migration 0032's limit


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    bind = op.get_bind()
    schema = bind.exec_driver_sql("SELECT current_schema()").scalar_one()
    op.execute(search_indexes.merge_function_sql(bind.dialect.identifier_preparer.quote(schema)))
    for statement in search_indexes.pending_list_statements(LIST_KB):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION IF EXISTS {search_indexes.MERGE_FUNCTION}()")
    for statement in search_indexes.pending_list_statements(SHORT_LIST_KB):
        op.execute(statement)
