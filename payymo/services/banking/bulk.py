"""Set-based inserts: COPY into a staging table and ``INSERT … SELECT`` on PostgreSQL.

PostgreSQL refuses COPY FROM into a table under row-level security, and a multi-row
``VALUES`` statement costs more to build than to run at 100k rows; so rows are COPYed
into a temporary table of the same shape (no policy there) and moved across in one
``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING id`` — the policy, triggers and
constraints all apply to that statement. SQLite takes one multi-row insert per batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

_SQLITE_BATCH = 500


def _dumps(value) -> str:
    return orjson.dumps(value).decode()


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    records: Sequence[dict],
    *,
    conflict: Sequence[str] | None = None,
    json_columns: Sequence[str] = (),
) -> set[str]:
    """Insert ``records`` into ``table``; answers the ids actually inserted.

    With ``conflict`` (the columns of a unique constraint), rows that collide are skipped.
    """
    if not records:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _postgres(session, table, records, conflict, json_columns)
    stmt = sqlite.insert(table)
    if conflict:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    stmt = stmt.returning(table.c.id)
    inserted: set[str] = set()
    for start in range(0, len(records), _SQLITE_BATCH):
        batch = records[start : start + _SQLITE_BATCH]
        inserted.update(session.execute(stmt, list(batch)).scalars())
    return inserted


def _postgres(session, table, records, conflict, json_columns) -> set[str]:
    columns = list(records[0])
    staging = f"staging_{table.name}"
    names = ", ".join(f'"{c}"' for c in columns)
    jsons = {columns.index(c) for c in json_columns if c in columns}
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor:
        # Per connection, emptied at each commit; created once per pooled connection.
        cursor.execute(
            f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" '
            f'(LIKE "{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
        )
        cursor.execute(f'TRUNCATE "{staging}"')
        with cursor.copy(f'COPY "{staging}" ({names}) FROM STDIN') as copy:
            for record in records:
                row = [record[c] for c in columns]
                for index in jsons:
                    if row[index] is not None:
                        row[index] = Jsonb(row[index], dumps=_dumps)
                copy.write_row(row)
        on_conflict = ""
        if conflict:
            on_conflict = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
        # Every name comes from our own Table, never from input.
        move = f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}"'  # noqa: S608
        cursor.execute(f"{move}{on_conflict} RETURNING id")
        inserted = {row[0] for row in cursor.fetchall()}
        cursor.execute(f'TRUNCATE "{staging}"')
    return inserted
