"""Per-row results shared by batch endpoints (invoice upsert, statement import)."""

from __future__ import annotations

from dataclasses import dataclass

from payymo.errors import PayymoError


@dataclass
class RowResult:
    """The outcome of one row: a status, the object's id, or an error."""

    index: int
    status: str
    id: str | None = None
    error: dict | None = None
    external_id: str | None = None


def row_error(exc: PayymoError, *, index: int, prefix: str) -> dict:
    """A per-row error body whose ``param`` points into the batch, e.g. ``invoices[3].amount_due``."""
    param = f"{prefix}[{index}].{exc.param}" if exc.param else f"{prefix}[{index}]"
    return {"type": exc.type, "code": exc.code, "message": exc.message, "param": param}


def failed_row(
    exc: PayymoError, *, index: int, prefix: str, external_id: str | None = None
) -> RowResult:
    """An ``error`` result for row ``index``."""
    return RowResult(
        index, "error", error=row_error(exc, index=index, prefix=prefix), external_id=external_id
    )


def summarise(results: list[RowResult], statuses: tuple[str, ...]) -> tuple[dict, list, int]:
    """Counts per status (all present), results in row order, and 200 or 207 when any failed."""
    ordered = sorted(results, key=lambda r: r.index)
    counts = dict.fromkeys(statuses, 0)
    for result in ordered:
        counts[result.status] += 1
    return counts, ordered, 207 if counts.get("error") else 200
