"""trigram search: substring filters served by pg_trgm GIN indexes on PostgreSQL

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 11:00:00.000000

See ``payymo.services.search_indexes``: the extension, and the functions through which
the app (behind row-level security) can use trigram indexes. ``pg_trgm`` ships with
PostgreSQL, but creating it needs the right to (a superuser, or the owner of a trusted
extension), and the functions' BYPASSRLS role needs a superuser. When this migration may
not, it says so, names what to do, and goes on without them: search stays correct, only
slower. The indexes are built by ``payymo db search-indexes`` (as a superuser), which
also adds whatever this migration could not. SQLite keeps its plain LIKE.
"""

import logging

from alembic import op

from payymo.services import search_indexes

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available, why = search_indexes.trigram_available(bind, in_transaction=True)
    if not available:
        log.warning(
            "pg_trgm could not be created (%s); substring search will read every row of a "
            "tenant until it is: %s.",
            why,
            search_indexes.HOW_TO,
        )
        return
    installed, why = search_indexes.install_functions(bind, in_transaction=True)
    if not installed:
        log.warning(
            "the search functions could not be created (%s); row-level security keeps the "
            "app from using trigram indexes until they are: %s.",
            why,
            search_indexes.HOW_TO,
        )
    # The indexes themselves are the operator's choice (payymo db search-indexes): they
    # double the cost of bulk inserts into transactions (measured, see README).


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in search_indexes.drop_functions():
        op.execute(statement)
    with op.get_context().autocommit_block():
        for statement in search_indexes.drop_statements():
            op.execute(statement)
