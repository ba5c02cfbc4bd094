"""Reading rollups: a subject's groups for the tenant in scope, folded and pending alike."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from payymo.models import Rollup, RollupDelta
from payymo.models.rollup import MEASURES


def groups(
    session: Session,
    subject: str,
    *,
    by: tuple[str, ...],
    where: Callable | None = None,
) -> list[tuple]:
    """Rows of (``by`` dimensions..., item_count, amount, amount_allocated) for ``subject``.

    ``where(model)`` may narrow the groups (a list of conditions on either table). The
    rollups and the deltas not yet folded in are read by one statement, so the answer is
    exact as of one moment. Groups that add up to nothing are left out.
    """

    def part(model):
        conditions = [model.subject == subject, *(where(model) if where else [])]
        columns = [getattr(model, name) for name in (*by, *MEASURES)]
        return select(*columns).where(*conditions)

    both = union_all(part(Rollup), part(RollupDelta)).subquery()
    keys = [both.c[name] for name in by]
    sums = [func.coalesce(func.sum(both.c[name]), 0) for name in MEASURES]
    stmt = select(*keys, *sums).group_by(*keys)
    return [
        (*row[: len(by)], *(int(v) for v in row[len(by) :]))
        for row in session.execute(stmt)
        if any(row[len(by) :])
    ]


def total(session: Session, subject: str, *, where: Callable | None = None) -> tuple[int, ...]:
    """(item_count, amount, amount_allocated) of every group of ``subject`` together."""
    found = groups(session, subject, by=(), where=where)
    return found[0] if found else (0, 0, 0)
