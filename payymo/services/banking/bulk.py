"""Set-based inserts: COPY into a staging table and ``INSERT … SELECT`` on PostgreSQL.

PostgreSQL refuses COPY FROM into a table under row-level security, and a multi-row
``VALUES`` statement costs more to build than to run at 100k rows; so rows are COPYed
into a temporary table of the same shape (no policy there) and moved across in one
``INSERT … SELECT … ON CONFLICT DO NOTHING`` — the policy, triggers and constraints all
apply to that statement. SQLite takes one multi-row insert per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

_SQLITE_BATCH = 500
_ROWS_CHUNK = 100_000  # rows staged at once by ``insert_rows``


def _dumps(value) -> str:
    return orjson.dumps(value).decode()


def insert_ignoring_conflicts(
    session: Session,
    table: Table,
    records: Sequence[dict],
    *,
    conflict: Sequence[str] | None = None,
    json_columns: Sequence[str] = (),
    meanwhile: Callable[[], object] | None = None,
) -> set[str]:
    """Insert ``records`` into ``table``; answers the ids actually inserted.

    With ``conflict`` (the columns of a unique constraint), rows that collide are skipped.
    ``meanwhile`` is called once while the database works (on PostgreSQL, while the
    server runs the insert), so a caller's next batch is prepared on the other core.
    """
    if not records:
        if meanwhile is not None:
            meanwhile()
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _postgres(session, table, records, conflict, json_columns, meanwhile)
    stmt = sqlite.insert(table)
    if conflict:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    stmt = stmt.returning(table.c.id)
    inserted: set[str] = set()
    for start in range(0, len(records), _SQLITE_BATCH):
        batch = records[start : start + _SQLITE_BATCH]
        inserted.update(session.execute(stmt, list(batch)).scalars())
    if meanwhile is not None:
        meanwhile()
    return inserted


def insert_rows(session: Session, table: Table, records: Sequence[dict]) -> None:
    """Insert ``records`` (same keys each, no conflicts expected) into ``table``, set-based.

    On PostgreSQL ``_ROWS_CHUNK`` rows are staged and moved at a time.
    """
    if not records:
        return
    if session.get_bind().dialect.name != "postgresql":
        for start in range(0, len(records), _SQLITE_BATCH):
            session.execute(table.insert(), list(records[start : start + _SQLITE_BATCH]))
        return
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor:
        for start in range(0, len(records), _ROWS_CHUNK):
            chunk = records[start : start + _ROWS_CHUNK]
            staging, names = _stage(cursor, table, chunk, ())
            cursor.execute(f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}"')  # noqa: S608
            cursor.execute(f'TRUNCATE "{staging}"')


def _stage(cursor, table: Table, records: Sequence[dict], json_columns) -> tuple[str, str]:
    """COPY ``records`` into the table's staging twin; its name and the column list."""
    columns = list(records[0])
    staging = f"staging_{table.name}"
    names = ", ".join(f'"{c}"' for c in columns)
    jsons = {columns.index(c) for c in json_columns if c in columns}
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
    return staging, names


def _postgres(session, table, records, conflict, json_columns, meanwhile) -> set[str]:
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor:
        staging, names = _stage(cursor, table, records, json_columns)
        on_conflict = ""
        if conflict:
            on_conflict = f" ON CONFLICT ({', '.join(conflict)}) DO NOTHING"
        # Every name comes from our own Table, never from input.
        move = f'INSERT INTO "{table.name}" ({names}) SELECT {names} FROM "{staging}"'  # noqa: S608

        def run() -> set[str]:
            cursor.execute(f"{move}{on_conflict}")
            found = {record["id"] for record in records}
            if cursor.rowcount != len(records):
                # Some collided: the inserted ones are the staged ids now in the table.
                # (Not RETURNING: 20k ids back cost more than this rare second look.)
                cursor.execute(
                    f'SELECT s.id FROM "{staging}" s JOIN "{table.name}" t ON t.id = s.id'  # noqa: S608
                )
                found = {row[0] for row in cursor.fetchall()}
            cursor.execute(f'TRUNCATE "{staging}"')
            return found

        if meanwhile is None:
            return run()
        # The statement waits on the server with the GIL released; this thread does the
        # caller's work meanwhile. Nothing else touches the connection until it is back.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-insert") as pool:
            statement = pool.submit(run)
            try:
                meanwhile()
            finally:
                inserted = statement.result()
    return inserted
