"""Trigram indexes for substring search on PostgreSQL (``pg_trgm``), made when they may be.

``q`` on transactions, ``customer`` on invoices and the portal's invoice search are
case-insensitive substring filters (ILIKE '%…%'). A trigram GIN index answers them
without reading every row of the tenant. The indexes are built CONCURRENTLY, so a live
table keeps taking writes while they build; the models do not declare them (their names
end in ``_trgm``) because SQLite, which keeps its plain LIKE, has no such index.
"""

from __future__ import annotations

import logging

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

SUFFIX = "_trgm"
# Index name → (table, column).
INDEXES = {
    f"ix_transactions_counterparty_name{SUFFIX}": ("transactions", "counterparty_name"),
    f"ix_transactions_remittance_information{SUFFIX}": ("transactions", "remittance_information"),
    f"ix_transactions_counterparty_iban{SUFFIX}": ("transactions", "counterparty_iban"),
    f"ix_invoices_customer_name{SUFFIX}": ("invoices", "customer_name"),
    f"ix_invoices_customer_email{SUFFIX}": ("invoices", "customer_email"),
    f"ix_invoices_number{SUFFIX}": ("invoices", "number"),
}
HOW_TO = (
    "ask a superuser to run 'CREATE EXTENSION pg_trgm;' in this database, then run "
    "'payymo db search-indexes'"
)


def trigram_available(conn: Connection, *, in_transaction: bool) -> tuple[bool, str | None]:
    """Whether ``pg_trgm`` is installed (creating it if this role may); why not, if not.

    Inside a transaction (a migration) the attempt runs in a savepoint, so a refusal
    does not abort the rest.
    """
    if conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar():
        return True, None
    try:
        if in_transaction:
            with conn.begin_nested():
                conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        else:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        return True, None
    except DBAPIError as exc:
        return False, str(getattr(exc, "orig", exc)).splitlines()[0]


def _create(name: str, *, if_missing: bool) -> str:
    table, column = INDEXES[name]
    guard = "IF NOT EXISTS " if if_missing else ""
    return f"CREATE INDEX CONCURRENTLY {guard}{name} ON {table} USING gin ({column} gin_trgm_ops)"


def create_statements() -> list[str]:
    """CREATE INDEX CONCURRENTLY for every trigram index (each a no-op when it exists)."""
    return [_create(name, if_missing=True) for name in INDEXES]


def drop_statements() -> list[str]:
    """DROP INDEX CONCURRENTLY for every trigram index."""
    return [f"DROP INDEX CONCURRENTLY IF EXISTS {name}" for name in INDEXES]


def build_missing(conn: Connection) -> list[str]:
    """Build every missing or invalid trigram index on an autocommit connection."""
    todo = missing(conn)
    for name in todo:
        # A build that failed half-way leaves an invalid index behind: drop it first.
        conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
        conn.execute(text(_create(name, if_missing=False)))
    return todo


def missing(conn: Connection) -> list[str]:
    """The trigram indexes this database lacks, or has left invalid by a failed build."""
    found = set(
        conn.execute(
            text(
                "SELECT c.relname FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
                "WHERE i.indisvalid AND c.relname = ANY(:names)"
            ),
            {"names": list(INDEXES)},
        ).scalars()
    )
    return [name for name in INDEXES if name not in found]
