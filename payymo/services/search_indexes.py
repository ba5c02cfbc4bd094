"""Substring search on PostgreSQL: trigram indexes (``pg_trgm``) and the functions that use them.

``q`` on transactions, ``customer`` on invoices and the portal's invoice search are
case-insensitive substring filters (ILIKE '%…%'). A trigram GIN index answers them
without reading every row of the tenant. The indexes are built CONCURRENTLY, so a live
table keeps taking writes while they build; the models do not declare them (their names
end in ``_trgm``) because SQLite, which keeps its plain LIKE, has no such index.

The indexes are the operator's choice (``payymo db search-indexes``): on an 11M-line
table they doubled the time of a 100,000-line insert (8.3 s against 4.1 s) and of bank
sync, since every new or re-matched line adds its trigrams to three GIN indexes.

Row-level security stops PostgreSQL from using those indexes for the app: ILIKE is not
"leakproof", so it may only be evaluated after the tenant policy, never inside an index
scan. So each search is a function (``SEARCHES``) that reads the index as a role that
bypasses row-level security (``payymo_search``: no login, SELECT on the two tables,
owner of the functions) and returns only the ids of the tenant in the transaction's
``payymo.tenant_id`` setting: the policy's own condition. The app joins those ids to
the table as usual, behind the policy. Creating a BYPASSRLS role needs a superuser once;
without it the app keeps the plain ILIKE (correct, and as slow as the tenant is big).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from payymo.models import SearchTrigram
from payymo.services import search_names

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
HOW_TO = "run 'payymo db search-indexes' once as a superuser (PAYYMO_MIGRATION_DATABASE_URL)"
ROLE = "payymo_search"


@dataclass(frozen=True)
class Search:
    """A search function: ids of the tenant's rows of ``table`` whose ``columns`` match.

    It takes one ILIKE pattern per column (the IBAN is searched normalised), then one
    looser pattern per column for the index to read: the rare parts of the first, which
    every row the first matches also matches (``services.search.narrowed``). A pattern
    made of common trigrams ("GmbH", "Invoice") would make the index read posting lists
    of nearly every row; the looser one reads short lists, and the rows it finds are
    checked against the exact pattern.
    """

    function: str
    table: str
    columns: tuple[str, ...]
    # A column whose distinct values ``search_names`` keeps: searched name by name.
    named: str | None = None

    def create(self, schema: str) -> str:
        """CREATE OR REPLACE the function."""
        count = len(self.columns)
        args = ", ".join(
            [f"p{n} text" for n in range(count)] + [f"r{n} text" for n in range(count)]
        )
        exact = " OR ".join(f"{c} ILIKE p{n}" for n, c in enumerate(self.columns))
        loose = " OR ".join(f"{c} ILIKE r{n}" for n, c in enumerate(self.columns))
        # OFFSET 0 fences the index scan (the planner may not flatten the subquery): it reads
        # the loose patterns only; the tenant and the exact patterns are checked on the
        # rows it found. The plan is generic (it cannot see the patterns) and expects
        # thousands of rows, so it would also read the tenant's whole index into a bitmap
        # (20 ms for a million rows), start parallel workers and JIT-compile (measured:
        # 4 ms of work took 60).
        return (
            f"CREATE OR REPLACE FUNCTION {self.function}({args}) RETURNS SETOF varchar "
            f"LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp "
            "SET jit = off SET max_parallel_workers_per_gather = 0 AS $$ "
            f"SELECT id FROM (SELECT id, tenant_id, {', '.join(self.columns)} "
            f"FROM {self.table} WHERE {loose} OFFSET 0) AS found "
            f"WHERE tenant_id = current_setting('payymo.tenant_id', true) AND ({exact}) $$"
        )

    @property
    def signature(self) -> str:
        """name(text, …), as ``to_regprocedure`` wants it."""
        return f"{self.function}({', '.join(['text'] * 2 * len(self.columns))})"


TRANSACTIONS = Search(
    "payymo_search_transactions",
    "transactions",
    ("counterparty_name", "remittance_information", "counterparty_iban"),
    named="counterparty_name",
)
INVOICE_CUSTOMERS = Search(
    "payymo_search_invoice_customers", "invoices", ("customer_name", "customer_email")
)
INVOICE_NUMBERS = Search("payymo_search_invoice_numbers", "invoices", ("number", "customer_name"))
SEARCHES = (TRANSACTIONS, INVOICE_CUSTOMERS, INVOICE_NUMBERS)


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


def trigram_installed(conn: Connection) -> bool:
    """Whether this is PostgreSQL with ``pg_trgm`` installed."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar())


# GIN adds new rows' trigrams to a pending list that every search reads whole, until it
# passes this size and the writing statement merges it into the index. Merged often (a
# 256 kB limit), every line an import adds or a match re-writes paid for it: 600 status
# changes at 11M lines took 0.5 to 1.2 s, 0.3 to 0.4 s with PostgreSQL's default 4 MB,
# about what they cost with no trigram index at all. So writes get the default, and the
# job sweep merges the lists every minute (``merge_pending_lists``): a search reads what
# a minute of writes left, at most (a 1.7 MB list cost a search 4 ms where the index read
# took 0.35).
PENDING_LIST_KB = 4096
MERGE_FUNCTION = "payymo_merge_search_lists"


def _create(name: str, *, if_missing: bool) -> str:
    table, column = INDEXES[name]
    guard = "IF NOT EXISTS " if if_missing else ""
    return (
        f"CREATE INDEX CONCURRENTLY {guard}{name} ON {table} USING gin ({column} gin_trgm_ops)"
        f" WITH (gin_pending_list_limit = {PENDING_LIST_KB})"
    )


def pending_list_statements(limit_kb: int = PENDING_LIST_KB) -> list[str]:
    """Give every trigram index that exists the pending list limit (built before it had one)."""
    return [
        f"ALTER INDEX IF EXISTS {name} SET (gin_pending_list_limit = {limit_kb})"
        for name in INDEXES
    ]


def merge_function_sql(schema: str) -> str:
    """The function the job sweep calls to merge the trigram indexes' pending lists.

    ``gin_clean_pending_list`` is for an index's owner (as VACUUM is): the function runs
    as its creator, the migrations' role, so the app's role may call it and nothing more.
    """
    names = ", ".join(f"'{name}'" for name in INDEXES)
    return f"""
        CREATE OR REPLACE FUNCTION {MERGE_FUNCTION}() RETURNS bigint
        LANGUAGE plpgsql SECURITY DEFINER SET search_path = {schema}, pg_temp AS $$
        DECLARE
            merged bigint := 0;
            found regclass;
        BEGIN
            FOR found IN
                SELECT i.indexrelid::regclass FROM pg_index i
                JOIN pg_class c ON c.oid = i.indexrelid
                WHERE c.relname IN ({names}) AND i.indisvalid
                  AND c.relnamespace = current_schema()::regnamespace
            LOOP
                merged := merged + gin_clean_pending_list(found);
            END LOOP;
            RETURN merged;
        END $$
    """


def merge_pending_lists(conn: Connection) -> int:
    """Merge every trigram index's pending list into the index; the pages it held."""
    return conn.execute(text(f"SELECT {MERGE_FUNCTION}()")).scalar_one()


def create_statements() -> list[str]:
    """CREATE INDEX CONCURRENTLY for every trigram index (each a no-op when it exists)."""
    return [_create(name, if_missing=True) for name in INDEXES]


def drop_statements() -> list[str]:
    """DROP INDEX CONCURRENTLY for every trigram index."""
    return [f"DROP INDEX CONCURRENTLY IF EXISTS {name}" for name in INDEXES]


def build_missing(conn: Connection) -> list[str]:
    """Build every missing or invalid trigram index on an autocommit connection."""
    todo = missing(conn)
    for statement in pending_list_statements():
        conn.execute(text(statement))
    for name in todo:
        # A build that failed half-way leaves an invalid index behind: drop it first.
        conn.execute(text(f"DROP INDEX CONCURRENTLY IF EXISTS {name}"))
        conn.execute(text(_create(name, if_missing=False)))
    return todo


def ready(conn: Connection, search: Search) -> bool:
    """Whether ``search``'s function exists and every index it reads is built and valid."""
    wanted = [name for name, (table, _column) in INDEXES.items() if table == search.table]
    found = conn.execute(
        text(
            "SELECT to_regprocedure(:signature) IS NOT NULL AND "
            "(SELECT count(*) FROM pg_class c JOIN pg_index i ON i.indexrelid = c.oid "
            " WHERE i.indisvalid AND c.relname = ANY(:names)) = :count"
        ),
        {"signature": search.signature, "names": wanted, "count": len(wanted)},
    ).scalar()
    return bool(found)


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


def install_functions(conn: Connection, *, in_transaction: bool) -> tuple[bool, str | None]:
    """Create the search role (once per cluster) and the functions it owns; why not, if not.

    Needs a superuser (a BYPASSRLS role); anyone else gets a reason and nothing changes.
    The names function comes once its table does (migration 0032).
    """
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    statements = [
        "DO $$ BEGIN "
        f"CREATE ROLE {ROLE} NOLOGIN NOSUPERUSER BYPASSRLS; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        f"GRANT USAGE ON SCHEMA {schema} TO {ROLE}",
        f"GRANT SELECT ON transactions, invoices TO {ROLE}",
    ]
    for search in SEARCHES:
        statements += [
            search.create(schema),
            f"ALTER FUNCTION {search.signature} OWNER TO {ROLE}",
        ]
    if search_names.exists(conn):
        statements += [
            f"GRANT SELECT ON {search_names.TABLE} TO {ROLE}",
            search_names.function_sql(schema),
            f"ALTER FUNCTION {search_names.SIGNATURE} OWNER TO {ROLE}",
        ]
    try:
        if in_transaction:
            with conn.begin_nested():
                for statement in statements:
                    conn.execute(text(statement))
        else:
            for statement in statements:
                conn.execute(text(statement))
        return True, None
    except DBAPIError as exc:
        return False, str(getattr(exc, "orig", exc)).splitlines()[0]


def drop_functions() -> list[str]:
    """DROP the search functions (the role stays: other databases may use it)."""
    signatures = [search.signature for search in SEARCHES] + [search_names.SIGNATURE]
    return [f"DROP FUNCTION IF EXISTS {signature}" for signature in signatures]


def functions_missing(conn: Connection) -> list[str]:
    """The search functions this database lacks."""
    wanted = [(search.function, search.signature) for search in SEARCHES]
    if search_names.exists(conn):
        wanted.append((search_names.FUNCTION, search_names.SIGNATURE))
    return [
        function
        for function, signature in wanted
        if conn.execute(text("SELECT to_regprocedure(:s)"), {"s": signature}).scalar() is None
    ]


# A trigram in at least this share of a column's values is common: its posting list in
# the index is long, so a search leaves it to the recheck. Measured at 11M lines: the
# index read 9,140 rows for "%1234%" (35 ms with their heap pages), 15 for "%0001234%",
# whose "000" and "012" are each in 1 to 2% of the values (10 ms); "inv", in every
# value, added 90 ms. Below 5% a trigram costs the index a few ms and cuts the rows the
# heap is read for by its share.
COMMON_SHARE = 0.05
SAMPLE_ROWS = 30_000
SAMPLE_MAX_AGE = dt.timedelta(days=1)
SAMPLED = ""  # the trigram of the row that says when a column was sampled (no word has it)
_SAMPLE = """
    WITH sample AS (
        SELECT {column} AS value FROM {table} TABLESAMPLE SYSTEM (:percent)
        WHERE {column} IS NOT NULL
    ), size AS (SELECT count(*) AS rows FROM sample)
    SELECT trigram, count(*)::float / size.rows AS share
    FROM sample CROSS JOIN LATERAL unnest(show_trgm(sample.value)) AS trigram, size
    GROUP BY trigram, size.rows
    HAVING count(*) >= :share * size.rows
"""


def searched_columns() -> list[tuple[str, str]]:
    """Every (table, column) a trigram index serves."""
    return list(dict.fromkeys(INDEXES.values()))


def _sample_percent(conn: Connection, table: str) -> float:
    """The TABLESAMPLE SYSTEM percentage that reads about ``SAMPLE_ROWS`` of ``table``."""
    rows, pages = conn.execute(
        text("SELECT reltuples, relpages FROM pg_class WHERE oid = to_regclass(:t)"), {"t": table}
    ).one()
    if rows < 0:  # never analyzed: guess from its pages (about 30 rows to a page)
        rows = pages * 30
    return 100.0 if rows <= SAMPLE_ROWS else max(SAMPLE_ROWS * 100.0 / rows, 0.0001)


def sample_common_trigrams(conn: Connection, now: dt.datetime) -> int:
    """Sample every searched column and store its common trigrams; returns how many.

    Needs ``pg_trgm`` (``show_trgm``); reads about ``SAMPLE_ROWS`` rows per table, pages
    picked at random (TABLESAMPLE SYSTEM): about 1.5 s for all six columns at 11M rows.
    """
    kept = 0
    for table, column in searched_columns():
        percent = _sample_percent(conn, table)
        rows = conn.execute(
            text(_SAMPLE.format(table=table, column=column)),
            {"percent": percent, "share": COMMON_SHARE},
        ).all()
        conn.execute(
            delete(SearchTrigram).where(
                SearchTrigram.table_name == table, SearchTrigram.column_name == column
            )
        )
        conn.execute(
            insert(SearchTrigram),
            [
                {
                    "table_name": table,
                    "column_name": column,
                    "trigram": trigram,
                    "share": share,
                    "sampled_at": now,
                }
                for trigram, share in [(SAMPLED, 0.0), *rows]
            ],
        )
        kept += len(rows)
    return kept


def common_trigrams(conn: Connection, table: str) -> dict[str, frozenset[str]]:
    """The common trigrams of each of ``table``'s searched columns, as last sampled."""
    found: dict[str, set[str]] = {}
    rows = conn.execute(
        select(SearchTrigram.column_name, SearchTrigram.trigram).where(
            SearchTrigram.table_name == table,
            # A sample taken with a lower threshold keeps rarer ones; they are not common.
            SearchTrigram.share >= COMMON_SHARE,
        )
    )
    for column, trigram in rows:
        found.setdefault(column, set()).add(trigram)
    return {column: frozenset(trigrams) for column, trigrams in found.items()}


def sample_is_stale(conn: Connection, now: dt.datetime) -> bool:
    """Whether the common trigrams were never sampled or are older than a day."""
    last = conn.execute(select(func.min(SearchTrigram.sampled_at))).scalar()
    return last is None or now - last > SAMPLE_MAX_AGE
