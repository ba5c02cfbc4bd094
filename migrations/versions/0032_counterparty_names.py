"""search: each tenant's counterparty names, and its lines by name in id order

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-30 08:00:00.000000

A payer search read every line of the payer to keep the newest 51 (2,000 lines, about
25 ms at 10M). ``counterparty_names`` keeps each tenant's distinct names (a trigger adds
new ones with their lines, ``services.search_names``), and
``ix_transactions_tenant_counterparty_name_id`` reads a name's lines newest first. The
names are filled from the lines here: ``transactions`` is locked against writes while
that runs (2.3 s for 11M lines, the whole upgrade 32 s), so that no line is
written between the trigger's start and the copy. The index on ``transactions`` is
built ``CONCURRENTLY`` afterwards, taking writes. Where ``pg_trgm`` is installed, the
names' trigram index is built too (it is small), and the search function for names
needs the superuser that created the others (as migration 0026 did); without it, a
payer search reads the lines as before until ``payymo db search-indexes``. The trigram
indexes that exist get a shorter pending list (256 kB; migration 0033 undid it).
"""

import logging

import sqlalchemy as sa
from alembic import op

from payymo.services import search_indexes, search_names
from payymo.tenancy import policies

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

INDEX = search_names.LINES_INDEX
SHORT_LIST_KB = 256


def _trigram_installed() -> bool:
    return bool(
        op.get_bind()
        .exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        .scalar()
    )


def upgrade() -> None:
    op.create_table(
        search_names.TABLE,
        sa.Column(
            "tenant_id",
            sa.String(40),
            sa.ForeignKey("tenants.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(255), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "name"),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        op.create_index(INDEX, "transactions", ["tenant_id", "counterparty_name", "id"])
        return
    for statement in search_names.postgresql_install():
        op.execute(statement)
    # The owner is behind the forced policy too: the copy reads every tenant's lines
    # without it, inside this transaction (the table's lock is held until the commit).
    op.execute("ALTER TABLE transactions NO FORCE ROW LEVEL SECURITY")
    op.execute(search_names.BACKFILL)
    op.execute("ALTER TABLE transactions FORCE ROW LEVEL SECURITY")
    for statement in policies.enable(search_names.TABLE, policies.condition_in_use(bind)):
        op.execute(statement)
    # The trigger adds the names of whatever lines a statement writes, in any scope (a
    # tenant's, or the system's): adding may always happen; reading stays walled.
    op.execute(
        f"CREATE POLICY trigger_appends ON {search_names.TABLE} FOR INSERT WITH CHECK (true)"
    )
    trigram = _trigram_installed()
    # Shorter pending lists for the trigram indexes, as this revision knew them.
    for statement in search_indexes.pending_list_statements(SHORT_LIST_KB):
        op.execute(statement)
    if trigram:
        installed, why = search_indexes.install_functions(bind, in_transaction=True)
        if not installed:
            log.warning(
                "the search function for names could not be created (%s); a payer search "
                "reads every line of the payer until it is: %s.",
                why,
                search_indexes.HOW_TO,
            )
    with op.get_context().autocommit_block():
        search_names.build_lines_index(bind)
        if trigram:
            search_names.build_index(bind)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {search_names.SIGNATURE}")
        for statement in search_names.postgresql_remove():
            op.execute(statement)
        with op.get_context().autocommit_block():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
    else:
        op.drop_index(INDEX, "transactions")
    op.drop_table(search_names.TABLE)
