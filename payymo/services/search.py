"""Substring search conditions: through the search functions where the database has them.

On PostgreSQL with ``payymo db search-indexes`` done, a search reads a trigram index
through its function (``services.search_indexes``) and the rows come back behind the
tenant policy as usual; elsewhere (SQLite, or a database without the functions) it is a
plain case-insensitive LIKE on each column.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select, text
from sqlalchemy.orm import Session

from payymo.services.filters import contains, escape_like
from payymo.services.search_indexes import Search


def _has_function(session: Session, search: Search) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    found = session.execute(text("SELECT to_regprocedure(:s)"), {"s": search.signature})
    return found.scalar() is not None


def matching(session: Session, search: Search, model, texts: tuple[str, ...]):
    """A condition: one of the search's columns contains its text (case-insensitive)."""
    if _has_function(session, search):
        patterns = [f"%{escape_like(t)}%" for t in texts]
        ids = getattr(func, search.function)(*patterns).table_valued("id").render_derived()
        return model.id.in_(select(ids.c.id))
    return or_(
        *(contains(getattr(model, c), t) for c, t in zip(search.columns, texts, strict=True))
    )
