"""The triggers that keep rollups exact, whatever writes the base rows (ORM, Core, COPY).

PostgreSQL: one statement-level trigger per table and operation, reading the statement's
transition tables, appends one delta per changed group (a bulk import of 1,000 lines
writes a handful); no rollup row is locked by writers, so concurrent transactions never
queue or deadlock on a counter. SQLite (one writer at a time): row-level triggers
update ``rollups`` directly.

Credits with an active automatic match are counted per credit, not per match: a trigger
on ``matches`` compares, for each credit a statement touched, whether it had such a
match before the statement and has one after.
"""

from __future__ import annotations

from payymo.models.rollup import MEASURES
from payymo.services.rollups.definitions import (
    AUTO_CONDITION,
    AUTO_CREDITS,
    COLUMNS,
    GROUP,
    PLAIN,
    Subject,
)

_INSERT_COLUMNS = ", ".join(COLUMNS)
_OPERATIONS = ("INSERT", "UPDATE", "DELETE")


def _pg_delta_insert(subject: Subject, sources: list[tuple[str, int]]) -> str:
    inner = " UNION ALL ".join(
        f"SELECT {subject.aliased('t', 'postgresql', sign=sign)} FROM {table} t"
        for table, sign in sources
    )
    group = ", ".join(GROUP)
    sums = ", ".join(f"SUM({m})" for m in MEASURES)
    changed = " OR ".join(f"SUM({m}) <> 0" for m in MEASURES)
    return (
        f"INSERT INTO rollup_deltas ({_INSERT_COLUMNS}) SELECT {group}, {sums} FROM ({inner}) x"
        f" GROUP BY {group} HAVING {changed};"
    )


def _pg_function(subject: Subject) -> str:
    return f"""
CREATE FUNCTION rollup_{subject.name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_pg_delta_insert(subject, [("new_rows", 1)])}
    ELSIF TG_OP = 'DELETE' THEN
        {_pg_delta_insert(subject, [("old_rows", -1)])}
    ELSE
        {_pg_delta_insert(subject, [("new_rows", 1), ("old_rows", -1)])}
    END IF;
    RETURN NULL;
END
$$"""


# For each credit a statement touched: its active automatic matches after the statement
# (the table as it is now), and before it (now, less what the statement added, plus
# what it took away). A credit counts when it has at least one.
def _pg_auto_delta(sources: list[tuple[str, int]]) -> str:
    changes = " UNION ALL ".join(
        f"SELECT t.tenant_id, t.transaction_id, {sign} AS sign FROM {table} t"
        f" WHERE {AUTO_CONDITION.format(r='t')}"
        for table, sign in sources
    )
    blanks = ", ".join(["''"] * (len(GROUP) - 2))
    return f"""INSERT INTO rollup_deltas ({_INSERT_COLUMNS})
        SELECT tenant_id, '{AUTO_CREDITS}', {blanks}, SUM(change), 0, 0 FROM (
            SELECT d.tenant_id, (a.after > 0)::int - (a.after - d.net > 0)::int AS change
            FROM (
                SELECT tenant_id, transaction_id, SUM(sign) AS net FROM ({changes}) s
                GROUP BY tenant_id, transaction_id HAVING SUM(sign) <> 0
            ) d
            CROSS JOIN LATERAL (
                SELECT COUNT(*) AS after FROM matches m
                WHERE m.transaction_id = d.transaction_id AND {AUTO_CONDITION.format(r="m")}
            ) a
        ) c
        GROUP BY tenant_id HAVING SUM(change) <> 0;"""


_PG_AUTO_CREDITS = f"""
CREATE FUNCTION rollup_auto_credits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_pg_auto_delta([("new_rows", 1)])}
    ELSIF TG_OP = 'DELETE' THEN
        {_pg_auto_delta([("old_rows", -1)])}
    ELSE
        {_pg_auto_delta([("new_rows", 1), ("old_rows", -1)])}
    END IF;
    RETURN NULL;
END
$$"""


def _pg_triggers(table: str, function: str) -> list[str]:
    statements = []
    for operation in _OPERATIONS:
        referencing = {
            "INSERT": "NEW TABLE AS new_rows",
            "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            "DELETE": "OLD TABLE AS old_rows",
        }[operation]
        statements.append(
            f"CREATE TRIGGER {function}_{operation.lower()} AFTER {operation} ON {table}"
            f" REFERENCING {referencing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )
    return statements


def postgresql_install() -> list[str]:
    """Functions and triggers for PostgreSQL."""
    statements = []
    for subject in PLAIN:
        statements.append(_pg_function(subject))
        statements.extend(_pg_triggers(subject.table, f"rollup_{subject.name}"))
    statements.append(_PG_AUTO_CREDITS)
    statements.extend(_pg_triggers("matches", "rollup_auto_credits"))
    return statements


def postgresql_remove() -> list[str]:
    """Drop what ``postgresql_install`` made (the triggers go with their functions)."""
    names = [f"rollup_{s.name}" for s in PLAIN] + ["rollup_auto_credits"]
    return [f"DROP FUNCTION IF EXISTS {name}() CASCADE" for name in names]


def _sqlite_upsert(values: list[str]) -> str:
    group = ", ".join(GROUP)
    add = ", ".join(f"{m} = {m} + excluded.{m}" for m in MEASURES)
    return (
        f"INSERT INTO rollups ({_INSERT_COLUMNS}) VALUES ({', '.join(values)})"
        f" ON CONFLICT ({group}) DO UPDATE SET {add};"
    )


def _sqlite_subject(subject: Subject) -> list[str]:
    new = _sqlite_upsert(subject.values("NEW", "sqlite"))
    old = _sqlite_upsert(subject.values("OLD", "sqlite", sign=-1))
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in subject.watched)
    name = f"rollup_{subject.name}"
    return [
        f"CREATE TRIGGER {name}_insert AFTER INSERT ON {subject.table} BEGIN {new} END",
        f"CREATE TRIGGER {name}_delete AFTER DELETE ON {subject.table} BEGIN {old} END",
        f"CREATE TRIGGER {name}_update AFTER UPDATE OF {', '.join(subject.watched)}"
        f" ON {subject.table} WHEN {changed} BEGIN {old} {new} END",
    ]


def _sqlite_auto(row: str, sign: int) -> str:
    values = [
        f"{row}.tenant_id",
        f"'{AUTO_CREDITS}'",
        *(["''"] * (len(GROUP) - 2)),
        str(sign),
        "0",
        "0",
    ]
    return _sqlite_upsert(values)


# Row triggers fire one row at a time, so the count of the credit's active automatic
# matches, taken after this row, tells whether this row made it start or stop counting.
def _sqlite_auto_credits() -> list[str]:
    active = AUTO_CONDITION.format(r="m")
    count = "(SELECT COUNT(*) FROM matches m WHERE m.transaction_id = {r}.transaction_id AND " + (
        active + ")"
    )
    new_auto, old_auto = AUTO_CONDITION.format(r="NEW"), AUTO_CONDITION.format(r="OLD")
    return [
        "CREATE TRIGGER rollup_auto_credits_insert AFTER INSERT ON matches"
        f" WHEN {new_auto} AND {count.format(r='NEW')} = 1 BEGIN {_sqlite_auto('NEW', 1)} END",
        "CREATE TRIGGER rollup_auto_credits_delete AFTER DELETE ON matches"
        f" WHEN {old_auto} AND {count.format(r='OLD')} = 0 BEGIN {_sqlite_auto('OLD', -1)} END",
        "CREATE TRIGGER rollup_auto_credits_start AFTER UPDATE OF method, status ON matches"
        f" WHEN {new_auto} AND NOT ({old_auto}) AND {count.format(r='NEW')} = 1"
        f" BEGIN {_sqlite_auto('NEW', 1)} END",
        "CREATE TRIGGER rollup_auto_credits_stop AFTER UPDATE OF method, status ON matches"
        f" WHEN {old_auto} AND NOT ({new_auto}) AND {count.format(r='NEW')} = 0"
        f" BEGIN {_sqlite_auto('NEW', -1)} END",
    ]


def sqlite_install() -> list[str]:
    """Row triggers for SQLite."""
    statements = []
    for subject in PLAIN:
        statements.extend(_sqlite_subject(subject))
    statements.extend(_sqlite_auto_credits())
    return statements


def sqlite_remove() -> list[str]:
    """Drop what ``sqlite_install`` made."""
    # "CREATE TRIGGER <name> …": the names come from the statements themselves.
    return [f"DROP TRIGGER IF EXISTS {statement.split()[2]}" for statement in sqlite_install()]
