"""Cursor pagination over time-ordered ids, newest first; or a sync walk, oldest first."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ARRAY, Select, bindparam, func, literal, select, true, union_all
from sqlalchemy.orm import Session, aliased

from payymo import ids, sync_tokens
from payymo.errors import InvalidRequest

MAX_LIMIT = 100
DEFAULT_LIMIT = 25


@dataclass(frozen=True)
class Page:
    """One page of a list: items, whether more follow, and the cursor to fetch them."""

    data: list
    has_more: bool
    next_cursor: str | None
    next_sync_token: str | None = None


@dataclass(frozen=True)
class Spread:
    """A filter under which a key takes one of a few values (a short date or amount range).

    On PostgreSQL a page of it is read through a ``(tenant_id, key, id)`` index, value
    by value, so its cost is the number of values, not the tenant's size. The plain plans
    walk the id index past every newer row outside the filter, or sort every row inside
    it; both grow with the tenant. ``key`` gives the indexed column or expression of an
    alias of the model; ``select_ids`` gives ``select(alias.id)`` with every filter (the
    page's own statement selects the model itself). ``also``, if given, selects the ids
    of the other rows on the list (a search's lines found by another column than the
    key), which are merged in.
    """

    values: Sequence[Any]
    key: Callable[[Any], Any]
    select_ids: Callable[[Any], Select]
    also: Callable[[Any], Select] | None = None


@functools.cache
def _alias(model):
    # One per model: aliasing a table copies every column (30 for transactions), about
    # a millisecond of each request's Python; an alias is immutable, so it is shared.
    return aliased(model)


def _spread_ids(spread: Spread, model, *, after: str | None, before: str | None, count: int):
    """``_values_ids``, with the ``count`` first of ``spread.also`` merged in."""
    ids = _values_ids(spread, model, after=after, before=before, count=count)
    if spread.also is None:
        return ids
    alias = _alias(model)
    also = spread.also(alias)
    if after:
        also = also.where(alias.id < after)
    elif before:
        also = also.where(alias.id > before)
    also = also.order_by(alias.id.asc() if before else alias.id.desc()).limit(count)
    both = union_all(select(ids.subquery()), select(also.subquery())).subquery()
    order = both.c.id.asc() if before else both.c.id.desc()
    return select(both.c.id).order_by(order).limit(count)


def _values_ids(spread: Spread, model, *, after: str | None, before: str | None, count: int):
    """A select of the page's first ``count`` ids under ``spread``, in page order.

    Newest first (a page or the next one): each value's newest row first, one index
    descent per value. The ``count``-th newest of those bounds the page: at least
    ``count`` rows are that new, so no older row is on the page, and only values whose
    newest row is within the bound have rows on it. Then those values' rows within the
    bound, newest first. (Reading every value's ``count`` newest rows took 16,000 index
    entries for 500 amounts at 10M lines.) Oldest first (``ending_before``, rare): each
    value's ``count`` oldest rows after the cursor.
    """
    alias = _alias(model)
    column = spread.key(alias)
    rows = spread.select_ids(alias)
    if after:
        rows = rows.where(alias.id < after)
    elif before:
        rows = rows.where(alias.id > before)
    values = (
        func.unnest(bindparam(None, list(spread.values), type_=ARRAY(column.type)))
        .table_valued("value")
        .render_derived()
    )
    if before:
        each = rows.where(column == values.c.value).order_by(alias.id.asc()).limit(count)
        each = each.lateral()
        return (
            select(each.c.id)
            .select_from(values)
            .join(each, true())
            .order_by(each.c.id)
            .limit(count)
        )
    newest = rows.where(column == values.c.value).order_by(alias.id.desc()).limit(1).lateral()
    firsts = (
        select(values.c.value, newest.c.id)
        .select_from(values)
        .join(newest, true())
        .cte("firsts")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    # '' sorts before every id: with fewer than ``count`` values in use, no bound. The
    # COALESCE stays inside the subquery: outside it, under row-level security,
    # PostgreSQL checked the bound as a filter, reading every row of each value (40 per
    # amount at 10M lines) instead of descending to the bound in the index.
    cut = select(firsts.c.id).order_by(firsts.c.id.desc()).offset(count - 1).limit(1)
    cut = cut.subquery()
    bound = select(func.coalesce(func.max(cut.c.id), literal(""))).scalar_subquery()
    within = rows.where(column == firsts.c.value, alias.id >= bound)
    within = within.order_by(alias.id.desc()).limit(count).lateral()
    return (
        select(within.c.id)
        .select_from(firsts)
        .join(within, true())
        .where(firsts.c.id >= bound)
        .order_by(within.c.id.desc())
        .limit(count)
    )


def _noun(model) -> str:
    """``BankAccount`` → "bank account", ``ApiKey`` → "API key": as a person would write it."""
    words = re.findall(r"[A-Z][a-z]*", model.__name__)
    return " ".join("API" if w == "Api" else w.lower() for w in words)


def _check_cursor(session: Session, model, prefix: str, cursor: str, param: str) -> None:
    exists = ids.is_valid(cursor, prefix) and (
        session.scalar(select(model.id).where(model.id == cursor)) is not None
    )
    if not exists:
        raise InvalidRequest(
            f"Invalid cursor '{cursor[:60]}': no such {_noun(model)} in this list.",
            param=param,
            code="invalid_cursor",
        )


def paginate(
    session: Session,
    stmt: Select,
    model,
    *,
    prefix: str,
    limit: int = DEFAULT_LIMIT,
    starting_after: str | None = None,
    ending_before: str | None = None,
    sync_token: str | None = None,
    sync_scope: str | None = None,
    spread: Spread | None = None,
) -> Page:
    """Run ``stmt`` (a select of ``model``) one page at a time, newest first.

    With ``sync_token`` it is a sync walk instead (see ``sync_page``); with ``spread``,
    on PostgreSQL, the page is read value by value (see ``Spread``).
    """
    if sync_token is not None:
        scope = f"{prefix}:{sync_scope}" if sync_scope else prefix
        return sync_page(session, stmt, model, scope=scope, limit=limit, sync_token=sync_token)
    if starting_after and ending_before:
        raise InvalidRequest(
            "Pass either starting_after or ending_before, not both.", param="ending_before"
        )
    if starting_after:
        _check_cursor(session, model, prefix, starting_after, "starting_after")
    elif ending_before:
        _check_cursor(session, model, prefix, ending_before, "ending_before")
    if spread is not None and session.get_bind().dialect.name == "postgresql":
        first = _spread_ids(
            spread, model, after=starting_after, before=ending_before, count=limit + 1
        )
        stmt = select(model).where(model.id.in_(first))
    if starting_after:
        stmt = stmt.where(model.id < starting_after).order_by(model.id.desc())
    elif ending_before:
        stmt = stmt.where(model.id > ending_before).order_by(model.id.asc())
    else:
        stmt = stmt.order_by(model.id.desc())
    rows = list(session.scalars(stmt.limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    if ending_before:
        rows.reverse()
    next_cursor = rows[-1].id if rows and (has_more or ending_before) else None
    return Page(data=rows, has_more=has_more, next_cursor=next_cursor)


def sync_page(
    session: Session, stmt: Select, model, *, scope: str, limit: int, sync_token: str
) -> Page:
    """One page of the rows of ``stmt`` changed at or after the token, oldest id first.

    A walk's first page takes the watermark before it reads; every page of the walk
    carries it, and the last one hands it back as the next walk's start.
    """
    low, high = sync_tokens.watermark(session)
    token = sync_tokens.decode(sync_token, scope=scope, high=high)
    upto = low if token.upto is None else token.upto
    stmt = stmt.where(model.__table__.c.change_seq >= token.start)
    if token.after is not None:
        stmt = stmt.where(model.id > token.after)
    rows = list(session.scalars(stmt.order_by(model.id.asc()).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    if has_more:
        following = sync_tokens.SyncToken(scope, token.start, upto, rows[-1].id)
    else:
        following = sync_tokens.SyncToken(scope, upto)
    return Page(
        data=rows,
        has_more=has_more,
        next_cursor=None,
        next_sync_token=sync_tokens.encode(following),
    )
