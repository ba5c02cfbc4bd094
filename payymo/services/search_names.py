"""Each tenant's distinct counterparty names, kept by a trigger, for payer searches.

A search for a payer ("Customer 4242 GmbH") matches every line of the payer: 2,000 of a
10M-line tenant in ``benchmarks/scale.py``. The search function found them all through
the trigram index and read each one from the table to check it, about 25 ms, for a page
of 51. Instead, the search finds the matching names in ``counterparty_names`` (a few
rows, through their own trigram index), then reads each name's lines newest first
through ``(tenant_id, counterparty_name, id)``, only as far as the page needs.

On PostgreSQL a statement trigger adds every new name in the transaction that writes its
line (bulk inserts and COPY included), in name order, so two imports adding the same new
names wait for each other instead of deadlocking. The names are read, like the lines,
through a function owned by ``payymo_search`` (``services.search_indexes``). SQLite
keeps its plain LIKE and no names.
"""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

TABLE = "counterparty_names"
FUNCTION = "payymo_search_counterparty_names"
SIGNATURE = f"{FUNCTION}(text, text, integer)"
INDEX = "ix_counterparty_names_name_trgm"
LINES_INDEX = "ix_transactions_tenant_counterparty_name_id"  # a name's lines, newest first

_ADD = (
    "INSERT INTO counterparty_names (tenant_id, name) "
    "SELECT DISTINCT n.tenant_id, n.counterparty_name FROM new_rows n {join} "
    "WHERE n.counterparty_name IS NOT NULL {changed} ORDER BY 1, 2 ON CONFLICT DO NOTHING;"
)
_ADD_INSERTED = _ADD.format(join="", changed="")
_ADD_RENAMED = _ADD.format(
    join="JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id",
    changed="AND n.counterparty_name IS DISTINCT FROM o.counterparty_name",
)
_TRIGGER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION counterparty_names_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_ADD_INSERTED}
    ELSE
        {_ADD_RENAMED}
    END IF;
    RETURN NULL;
END
$$"""


def postgresql_install() -> list[str]:
    """The trigger function and its two statement triggers on ``transactions``."""
    return [
        _TRIGGER_FUNCTION,
        "CREATE TRIGGER counterparty_names_insert AFTER INSERT ON transactions"
        " REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION counterparty_names_add()",
        "CREATE TRIGGER counterparty_names_update AFTER UPDATE ON transactions"
        " REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT"
        " EXECUTE FUNCTION counterparty_names_add()",
    ]


def postgresql_remove() -> list[str]:
    """Drop what ``postgresql_install`` made (the triggers go with their function)."""
    return ["DROP FUNCTION IF EXISTS counterparty_names_add() CASCADE"]


BACKFILL = (
    "INSERT INTO counterparty_names (tenant_id, name) "
    "SELECT DISTINCT tenant_id, counterparty_name FROM transactions "
    "WHERE counterparty_name IS NOT NULL ON CONFLICT DO NOTHING"
)


def function_sql(schema: str) -> str:
    """CREATE OR REPLACE the function: the tenant's names matching ``exact``, at most ``at_most``.

    As the line searches do, it reads the index with the looser pattern only, and checks
    the tenant and the exact pattern on the names found (``search_indexes.Search``).
    Never the whole table: planned without the patterns, PostgreSQL chose to check all
    18,000 names of the benchmark with ILIKE (14 ms) over the index (under 1 ms).
    """
    return (
        f"CREATE OR REPLACE FUNCTION {FUNCTION}(exact text, loose text, at_most integer) "
        "RETURNS SETOF varchar LANGUAGE sql STABLE SECURITY DEFINER "
        f"SET search_path = {schema}, pg_temp "
        "SET jit = off SET max_parallel_workers_per_gather = 0 SET enable_seqscan = off AS $$ "
        "SELECT name FROM (SELECT tenant_id, name FROM counterparty_names "
        "WHERE name ILIKE loose OFFSET 0) AS found "
        "WHERE tenant_id = current_setting('payymo.tenant_id', true) AND name ILIKE exact "
        "LIMIT at_most $$"
    )


def index_statement() -> str:
    """CREATE INDEX CONCURRENTLY for the names' trigram index (a no-op when it exists).

    Built with the table where ``pg_trgm`` is installed (it holds a row per name, not per
    line), else by ``payymo db search-indexes``. Without GIN's pending list: new names
    are few, and every search would read the names still pending (3,000 after one
    benchmark's imports, until a vacuum) one by one.
    """
    return (
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {TABLE} "
        "USING gin (name gin_trgm_ops) WITH (fastupdate = off)"
    )


def _build(conn: Connection, name: str, statement: str) -> bool:
    """Build index ``name`` on an autocommit connection if it is missing or invalid;
    whether it did."""
    valid = conn.execute(
        text(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE c.relname = :name"
        ),
        {"name": name},
    ).scalar()
    if valid:
        return False
    if valid is False:  # a build that failed half-way
        conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
    conn.execute(text(statement))
    return True


def build_index(conn: Connection) -> bool:
    """Build the names' trigram index if it is missing or invalid; whether it did."""
    return _build(conn, INDEX, index_statement())


def build_lines_index(conn: Connection) -> bool:
    """Build ``(tenant_id, counterparty_name, id)`` on ``transactions`` (taking writes) if it
    is missing or invalid; whether it did."""
    statement = (
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {LINES_INDEX} "
        "ON transactions (tenant_id, counterparty_name, id)"
    )
    return _build(conn, LINES_INDEX, statement)


def exists(conn: Connection) -> bool:
    """Whether this database has the names table (migration 0032)."""
    return conn.execute(text("SELECT to_regclass(:t) IS NOT NULL"), {"t": TABLE}).scalar_one()


def ready(conn: Connection) -> bool:
    """Whether the function exists and the names' trigram index is built and valid."""
    found = conn.execute(
        text(
            "SELECT to_regprocedure(:signature) IS NOT NULL AND EXISTS ("
            " SELECT 1 FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid"
            " WHERE i.indisvalid AND c.relname = :index)"
        ),
        {"signature": SIGNATURE, "index": INDEX},
    ).scalar()
    return bool(found)


def find(session: Session, *, exact: str, loose: str, at_most: int) -> list[str]:
    """The tenant in scope's names matching the ILIKE pattern ``exact``, at most ``at_most``."""
    found = getattr(func, FUNCTION)(exact, loose, at_most).table_valued("name")
    return list(session.execute(select(found.c.name)).scalars())
