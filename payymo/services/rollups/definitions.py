"""What each rollup subject counts, as SQL over one row of its base table.

One definition serves three uses: the triggers that keep rollups exact, the migration's
backfill, and ``payymo db check-rollups``, which recomputes every group from the base
tables and compares. ``{r}`` stands for the row (``NEW``, ``OLD``, a transition table's
alias, or the base table's).
"""

from __future__ import annotations

from dataclasses import dataclass

from payymo.models.rollup import DIMENSIONS, MEASURES

COLUMNS = ("tenant_id", *DIMENSIONS, *MEASURES)
GROUP = ("tenant_id", *DIMENSIONS)

# A date's month (or day), a UTC timestamp's month, as ISO text (SQLite keeps them so).
_MONTH = {
    ("postgresql", "date"): "to_char({r}.{column}, 'YYYY-MM')",
    ("postgresql", "day"): "to_char({r}.{column}, 'YYYY-MM-DD')",
    ("postgresql", "timestamp"): "to_char({r}.{column} AT TIME ZONE 'UTC', 'YYYY-MM')",
    ("sqlite", "date"): "strftime('%Y-%m', {r}.{column})",
    ("sqlite", "day"): "strftime('%Y-%m-%d', {r}.{column})",
    ("sqlite", "timestamp"): "strftime('%Y-%m', {r}.{column})",
}


@dataclass(frozen=True)
class Subject:
    """A rollup subject: its base table, its dimensions and measures, as SQL over ``{r}``."""

    name: str
    table: str
    dimensions: dict[str, str]  # dimension → SQL (dimensions left out are '')
    measures: dict[str, str]  # measure → SQL (measures left out are 0)
    # Columns whose change moves the row between groups or changes a measure.
    watched: tuple[str, ...]
    # Month dimensions → (column, "date", "day" or "timestamp").
    months: dict[str, tuple[str, str]] | None = None

    def values(self, row: str, dialect: str, *, sign: int = 1) -> list[str]:
        """SQL for tenant_id, every dimension and every measure (times ``sign``) of ``row``."""
        out = [f"{row}.tenant_id"]
        for name in DIMENSIONS:
            if name == "subject":
                out.append(f"'{self.name}'")
            elif name in (self.months or {}):
                column, kind = self.months[name]
                sql = _MONTH[(dialect, kind)].format(r=row, column=column)
                out.append(f"COALESCE({sql}, '')")
            elif name in self.dimensions:
                out.append(f"COALESCE({self.dimensions[name].format(r=row)}, '')")
            else:
                out.append("''")
        for name in MEASURES:
            sql = self.measures.get(name, "0").format(r=row)
            out.append(f"({sql})" if sign == 1 else f"-({sql})")
        return out

    def aliased(self, row: str, dialect: str, *, sign: int = 1) -> str:
        """``values`` as a select list named like the rollup columns."""
        pairs = zip(self.values(row, dialect, sign=sign), COLUMNS, strict=True)
        return ", ".join(f"{sql} AS {name}" for sql, name in pairs)


TRANSACTIONS = Subject(
    name="transactions",
    table="transactions",
    dimensions={
        "account_id": "{r}.account_id",
        "currency": "{r}.currency",
        "direction": (
            "CASE WHEN {r}.amount > 0 THEN 'in' WHEN {r}.amount < 0 THEN 'out' ELSE 'zero' END"
        ),
        "status": "{r}.status",
        "detail": "{r}.match_status",
    },
    measures={
        "item_count": "1",
        "amount": "{r}.amount",
        "amount_allocated": "{r}.amount_allocated",
    },
    watched=(
        "tenant_id",
        "account_id",
        "currency",
        "booking_date",
        "created_at",
        "amount",
        "status",
        "match_status",
        "amount_allocated",
    ),
    months={"month": ("booking_date", "date"), "received": ("created_at", "timestamp")},
)
# The same lines by booking day (in ``month``, as YYYY-MM-DD): a date filter's partial
# months are read from these, a few dozen days' groups, never from the lines.
TRANSACTIONS_DAILY = Subject(
    name="transactions_daily",
    table="transactions",
    dimensions={
        name: sql
        for name, sql in TRANSACTIONS.dimensions.items()
        if name in ("account_id", "currency", "direction", "status", "detail")
    },
    measures={"item_count": "1", "amount": "{r}.amount"},
    watched=(
        "tenant_id",
        "account_id",
        "currency",
        "booking_date",
        "amount",
        "status",
        "match_status",
    ),
    months={"month": ("booking_date", "day")},
)
MATCHES = Subject(
    name="matches",
    table="matches",
    dimensions={"currency": "{r}.currency", "status": "{r}.status", "detail": "{r}.method"},
    measures={"item_count": "1", "amount": "{r}.amount"},
    watched=("tenant_id", "currency", "status", "method", "amount"),
)
INVOICES = Subject(
    name="invoices",
    table="invoices",
    dimensions={"currency": "{r}.currency", "status": "{r}.status"},
    measures={
        "item_count": "1",
        "amount": "{r}.amount_due - {r}.amount_paid - {r}.amount_charged",
    },
    watched=("tenant_id", "currency", "status", "amount_due", "amount_paid", "amount_charged"),
)
SUGGESTIONS = Subject(
    name="suggestions",
    table="suggestions",
    dimensions={"status": "{r}.status"},
    measures={"item_count": "1"},
    watched=("tenant_id", "status"),
)
# Each row of these subjects' tables is in exactly one group.
PLAIN = (TRANSACTIONS, TRANSACTIONS_DAILY, MATCHES, INVOICES, SUGGESTIONS)
# Credits with at least one active automatic match (one credit may carry several).
AUTO_CREDITS = "auto_credits"
AUTO_CONDITION = "{r}.method = 'auto' AND {r}.status = 'active'"


def _grouped(inner: str) -> str:
    group = ", ".join(GROUP)
    sums = ", ".join(f"SUM({m}) AS {m}" for m in MEASURES)
    return f"SELECT {group}, {sums} FROM ({inner}) AS x GROUP BY {group}"


def recompute_sql(dialect: str) -> str:
    """Every group of every subject recomputed from the base tables (all tenants)."""
    parts = [f"SELECT {s.aliased('b', dialect)} FROM {s.table} b" for s in PLAIN]
    tenant_and_dims = ["b.tenant_id", f"'{AUTO_CREDITS}'", *(["''"] * (len(DIMENSIONS) - 1))]
    auto = ", ".join(f"{sql} AS {name}" for sql, name in zip(tenant_and_dims, GROUP, strict=True))
    measures = ", ".join(
        f"{'COUNT(DISTINCT b.transaction_id)' if m == 'item_count' else '0'} AS {m}"
        for m in MEASURES
    )
    parts.append(
        f"SELECT {auto}, {measures} FROM matches b WHERE {AUTO_CONDITION.format(r='b')}"
        " GROUP BY b.tenant_id"
    )
    return _grouped(" UNION ALL ".join(parts))
