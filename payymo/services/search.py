"""Substring search conditions: through the search functions where they pay off.

On PostgreSQL with ``payymo db search-indexes`` done (the function and its indexes
ready), a big tenant's search reads a trigram index through its function (``services.search_indexes``) and the rows come back
behind the tenant policy as usual. The index holds every tenant's rows, so for a small
tenant reading its own rows is cheaper: below ``INDEXED_FROM`` rows (the rollups know
the count exactly) and elsewhere (SQLite, a database without the functions) a search is
a plain case-insensitive LIKE on each column.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from payymo.services import search_indexes
from payymo.services.filters import contains, escape_like
from payymo.services.rollups import read as rollups
from payymo.services.search_indexes import Search

# Measured (benchmarks/scale.py, 11M lines in the table): a 10k-line tenant's own scan
# took about 15 ms, the shared trigram index about 200 ms whatever the tenant's size.
INDEXED_FROM = 200_000


def _indexed(session: Session, search: Search) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    return search_indexes.ready(session.connection(), search)


def _big(session: Session, search: Search) -> bool:
    rows, _amount, _allocated = rollups.total(session, search.table)
    return rows >= INDEXED_FROM


def matching(session: Session, search: Search, model, texts: tuple[str, ...]):
    """A condition: one of the search's columns contains its text (case-insensitive)."""
    if _big(session, search) and _indexed(session, search):
        patterns = [f"%{escape_like(t)}%" for t in texts]
        ids = getattr(func, search.function)(*patterns).table_valued("id").render_derived()
        return model.id.in_(select(ids.c.id))
    return or_(
        *(contains(getattr(model, c), t) for c, t in zip(search.columns, texts, strict=True))
    )
