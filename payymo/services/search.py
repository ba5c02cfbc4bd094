"""Substring search conditions: through the search functions where they pay off.

On PostgreSQL with ``payymo db search-indexes`` done (the function and its indexes
ready), a search of a tenant of ``INDEXED_FROM`` rows or more (the rollups know the
count) reads a trigram index through its function (``services.search_indexes``), with
only the rare parts of its term (``narrowed``), and the rows come back behind the tenant
policy as usual. A smaller tenant, a term made of common trigrams, and elsewhere (SQLite,
a database without the functions) get a plain case-insensitive LIKE on each column.
"""

from __future__ import annotations

import re

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from payymo.services import search_indexes
from payymo.services.filters import contains, escape_like
from payymo.services.rollups import read as rollups
from payymo.services.search_indexes import Search

# Measured (benchmarks/scale.py, 11M lines in the table): reading a tenant's own rows
# costs about 2.5 ms per 1,000 lines (25 ms at 10,000); the function, 10 to 40 ms
# whatever the tenant's size (a 10,000-line tenant's searches took 12 and 20 ms).
INDEXED_FROM = 5_000
_WORD = re.compile(r"[^\W_]+")
_LIKE_SPECIAL = frozenset("%_\\")


def _indexed(session: Session, search: Search) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return False
    return search_indexes.ready(session.connection(), search)


def _big(session: Session, search: Search) -> bool:
    rows, _amount, _allocated = rollups.total(session, search.table)
    return rows >= INDEXED_FROM


def narrowed(text: str, common: frozenset[str]) -> str | None:
    """A looser ILIKE pattern than ``%text%``, made of its rare parts; None if it has none.

    The parts are the longest runs of ``text``'s words (letters and digits, as pg_trgm
    splits them) in which no trigram is ``common``, in order with ``%`` between. Every
    value that contains ``text`` contains them in that order, so the looser pattern
    finds a superset of the rows (the search function checks those against the exact
    one). A part that ends its word, where ``text`` goes on with a space or a mark,
    keeps that character: pg_trgm then also looks up the word's end ("42 "), so
    "Customer 4242 GmbH" does not read the rows of "Customer 2424 GmbH", whose words
    hold "424" and "242" too.
    """
    runs: list[str] = []
    for found in _WORD.finditer(text):
        word = found.group()
        lowered = word.lower()
        if len(lowered) != len(word):
            continue  # case folding changed its length: its positions would not line up
        start, end = None, 0
        for at in range(len(word) - 2):
            if lowered[at : at + 3] in common:
                if start is not None:
                    runs.append(word[start : at + 2])
                    start, end = None, at + 2
            elif start is None and at >= end:  # runs never overlap: '%abc%cde%' ≠ 'abcde'
                start = at
        if start is not None:
            runs.append(word[start:] + _word_end(text, found.end(), lowered, common))
    return "%" + "%".join(runs) + "%" if runs else None


def _word_end(text: str, at: int, lowered: str, common: frozenset[str]) -> str:
    """The character after a word at ``text[at]``, when it marks the word's end for pg_trgm
    and the end's trigram is rare; otherwise ''."""
    if at >= len(text) or text[at] in _LIKE_SPECIAL or _WORD.match(text[at]):
        return ""
    return text[at] if f"{lowered[-2:]} " not in common else ""


def _found_ids(session: Session, search: Search, texts: tuple[str, ...]):
    """The search function's ids as a FROM (None where the plain LIKE is used instead).

    Through the function when the tenant is big, the function is ready and every
    column's text has a rare part to look up; otherwise (a term of common words matches
    so many rows that a walk from the newest soon fills a page) the plain LIKE.
    """
    if not (_big(session, search) and _indexed(session, search)):
        return None
    common = search_indexes.common_trigrams(session.connection(), search.table)
    loose = [
        narrowed(t, common.get(c, frozenset())) for c, t in zip(search.columns, texts, strict=True)
    ]
    if None in loose:
        return None
    patterns = [f"%{escape_like(t)}%" for t in texts]
    found = getattr(func, search.function)(*patterns, *loose)
    return found.table_valued("id").render_derived()


def _plain(search: Search, model, texts: tuple[str, ...]):
    return or_(
        *(contains(getattr(model, c), t) for c, t in zip(search.columns, texts, strict=True))
    )


def matching(session: Session, search: Search, model, texts: tuple[str, ...]):
    """A condition: one of the search's columns contains its text (case-insensitive)."""
    ids = _found_ids(session, search, texts)
    if ids is None:
        return _plain(search, model, texts)
    return model.id.in_(select(ids.c.id))


def restrict(session: Session, stmt: Select, search: Search, model, texts: tuple[str, ...]):
    """``stmt`` narrowed to the rows ``matching`` would keep, for a newest-first page.

    Through the function, the found ids are joined newest first: PostgreSQL then reads
    rows by id only until the page is full, not every row the search found (a payer's
    2,000 lines took 12 to 60 ms to read, the page's 51 under 1 ms).
    """
    ids = _found_ids(session, search, texts)
    if ids is None:
        return stmt.where(_plain(search, model, texts))
    newest = select(ids.c.id).order_by(ids.c.id.desc()).subquery()
    return stmt.join(newest, newest.c.id == model.id)
