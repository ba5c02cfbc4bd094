"""search: the common trigrams of each searched column; search functions that skip them

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-29 16:00:00.000000

``search_trigrams`` keeps the trigrams found in at least 1% of a searched column's
values (sampled by the job sweep once a day and by ``payymo db search-indexes``). The
search functions take, besides each column's exact pattern, a looser one made of the
search term's rare parts for the index to read (``services.search_indexes.Search``);
the old functions (one pattern per column) are dropped. Replacing them needs the
superuser that created them (as migration 0021 did); without one, searches read the
tenant's rows until ``payymo db search-indexes`` installs them.
"""

import logging

import sqlalchemy as sa
from alembic import op

from payymo.db import UTCDateTime
from payymo.services import search_indexes

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

OLD_SIGNATURES = (
    "payymo_search_transactions(text, text, text)",
    "payymo_search_invoice_customers(text, text)",
    "payymo_search_invoice_numbers(text, text)",
)


def upgrade() -> None:
    op.create_table(
        "search_trigrams",
        sa.Column("table_name", sa.String(63), primary_key=True),
        sa.Column("column_name", sa.String(63), primary_key=True),
        sa.Column("trigram", sa.String(16), primary_key=True),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("sampled_at", UTCDateTime(), nullable=False),
    )
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if not bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'").scalar():
        return  # 0021 said why; search-indexes installs everything later
    try:
        with bind.begin_nested():
            for signature in OLD_SIGNATURES:
                op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    except sa.exc.DBAPIError as exc:
        log.warning("the old search functions could not be dropped (%s)", exc.orig)
    installed, why = search_indexes.install_functions(bind, in_transaction=True)
    if not installed:
        log.warning(
            "the search functions could not be replaced (%s); searches read every row of a "
            "tenant until they are: %s.",
            why,
            search_indexes.HOW_TO,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in search_indexes.drop_functions():
            op.execute(statement)
    op.drop_table("search_trigrams")
