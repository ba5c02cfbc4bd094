"""Planner statistics refreshed right after bulk growth, not whenever autovacuum looks.

A bank sync can add a million rows in a minute; autovacuum analyzes a table a minute
or more later (and never where it is off). Until then PostgreSQL plans with the
old picture: a tenant's rows look like a handful, and a reconcile chunk's UPDATE became
a nested loop over every invoice (5 s per 1,000 rows, measured). So a bank sync that
added lines, and a reconcile run before it starts, refresh the statistics of a table
that doubled since they were taken. The app's role owns no table; ``payymo_analyze``
(migration 0010) analyzes as the owner.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

TABLES = ("transactions", "invoices")
# What incremental reconcile runs look things up in (a full run refills the first three
# whole, and writes a tenant's suggestions in one burst; migration 0031).
LOOKUP_TABLES = ("reconcile_items", "reconcile_keys", "reconcile_words", "suggestions")
# Twice the pages of the last look. Estimates off by less than that still plan these
# statements well; an ANALYZE of a million rows costs ~0.35 s, so not on every sync.
GROWTH = 2.0
MIN_PAGES = 64  # 512 KiB: smaller tables plan well enough on any statistics

_SIZES = text(
    "SELECT c.relname, c.relpages, c.reltuples, "
    "pg_relation_size(c.oid) / current_setting('block_size')::int AS pages "
    "FROM pg_class c WHERE c.oid = ANY(CAST(:names AS regclass[]))"
)


def stale_tables(session: Session, tables=TABLES) -> list[str]:
    """Of ``tables``, those whose statistics were never taken or predate their doubling."""
    if session.get_bind().dialect.name != "postgresql":
        return []
    rows = session.execute(_SIZES, {"names": list(tables)})
    return sorted(
        name
        for name, relpages, reltuples, pages in rows
        if pages >= MIN_PAGES and (reltuples < 0 or pages > relpages * GROWTH)
    )


def refresh_if_stale(*, session: Session, tables=TABLES) -> list[str]:
    """ANALYZE each stale table (in the caller's transaction); answers the ones analyzed."""
    stale = stale_tables(session, tables)
    for name in stale:
        session.execute(text("SELECT payymo_analyze(:name)"), {"name": name})
    return stale
