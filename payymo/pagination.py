"""Cursor pagination over time-ordered ids, newest first; or a sync walk, oldest first."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

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
) -> Page:
    """Run ``stmt`` (a select of ``model``) one page at a time, newest first.

    With ``sync_token`` it is a sync walk instead (see ``sync_page``).
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
        stmt = stmt.where(model.id < starting_after).order_by(model.id.desc())
    elif ending_before:
        _check_cursor(session, model, prefix, ending_before, "ending_before")
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
