"""Rollup upkeep: fold pending deltas in (PostgreSQL), check every group against the rows.

Both run in system scope (the job sweep, ``payymo db check-rollups``); the caller commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from payymo.models.rollup import MEASURES
from payymo.services.rollups.definitions import COLUMNS, GROUP, recompute_sql

FOLD_BATCH = 50_000
# Folds take turns (a transaction-level advisory lock): the upsert never races itself.
_FOLD_LOCK = 0x526F6C6C  # "Roll"

_GROUP = ", ".join(GROUP)
_COLUMNS = ", ".join(COLUMNS)
_SUMS = ", ".join(f"SUM({m}) AS {m}" for m in MEASURES)
_ADD = ", ".join(f"{m} = rollups.{m} + excluded.{m}" for m in MEASURES)
_ZERO = " AND ".join(f"{m} = 0" for m in MEASURES)

_FOLD = f"""
WITH moved AS (
    DELETE FROM rollup_deltas
    WHERE id IN (SELECT id FROM rollup_deltas ORDER BY id LIMIT :batch)
    RETURNING {_COLUMNS}
), folded AS (
    INSERT INTO rollups ({_COLUMNS})
    SELECT {_GROUP}, {_SUMS} FROM moved GROUP BY {_GROUP} ORDER BY {_GROUP}
    ON CONFLICT ON CONSTRAINT uq_rollups_group DO UPDATE SET {_ADD}
    RETURNING 1
)
SELECT (SELECT COUNT(*) FROM moved), (SELECT COUNT(*) FROM folded)
"""


def fold(*, session: Session, batch: int = FOLD_BATCH) -> int:
    """Fold up to ``batch`` pending deltas into the rollups; answers how many were folded.

    One statement deletes the deltas and adds them to their groups, so a reader (who adds
    rollups and deltas in one statement too) sees each change exactly once. SQLite's
    triggers write the rollups directly: nothing to fold there.
    """
    if session.get_bind().dialect.name != "postgresql":
        return 0
    session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FOLD_LOCK})
    moved, _groups = session.execute(text(_FOLD), {"batch": batch}).one()
    if moved:
        session.execute(text(f"DELETE FROM rollups WHERE {_ZERO}"))
    return int(moved)


@dataclass(frozen=True)
class Difference:
    """A group whose rollup disagrees with its rows: what the rows say, what the rollup says."""

    group: dict
    expected: dict
    found: dict


def check(*, session: Session, tenant_id: str | None = None) -> list[Difference]:
    """Recompute every group from the base tables and compare (one statement, one snapshot)."""
    dialect = session.get_bind().dialect.name
    zeros = ", ".join(f"0 AS found_{m}" for m in MEASURES)
    expected_zeros = ", ".join(f"0 AS expected_{m}" for m in MEASURES)
    expected = ", ".join(f"{m} AS expected_{m}" for m in MEASURES)
    found = ", ".join(f"{m} AS found_{m}" for m in MEASURES)
    sums = ", ".join(f"SUM(expected_{m}), SUM(found_{m})" for m in MEASURES)
    differs = " OR ".join(f"SUM(expected_{m}) <> SUM(found_{m})" for m in MEASURES)
    only = "WHERE tenant_id = :tenant" if tenant_id else ""
    sql = f"""
        SELECT {_GROUP}, {sums} FROM (
            SELECT {_GROUP}, {expected}, {zeros} FROM ({recompute_sql(dialect)}) AS r
            UNION ALL SELECT {_GROUP}, {expected_zeros}, {found} FROM rollups
            UNION ALL SELECT {_GROUP}, {expected_zeros}, {found} FROM rollup_deltas
        ) AS x {only}
        GROUP BY {_GROUP} HAVING {differs}
        ORDER BY {_GROUP}
    """
    out = []
    for row in session.execute(text(sql), {"tenant": tenant_id} if tenant_id else {}):
        group = dict(zip(GROUP, row[: len(GROUP)], strict=True))
        values = row[len(GROUP) :]
        out.append(
            Difference(
                group,
                {m: int(values[2 * i]) for i, m in enumerate(MEASURES)},
                {m: int(values[2 * i + 1]) for i, m in enumerate(MEASURES)},
            )
        )
    return out


def forget_tenant(*, session: Session, tenant_id: str) -> None:
    """Delete a purged tenant's rollups and deltas (they have no foreign key to cascade)."""
    for table in ("rollup_deltas", "rollups"):
        session.execute(
            text(f"DELETE FROM {table} WHERE tenant_id = :tenant"), {"tenant": tenant_id}
        )
