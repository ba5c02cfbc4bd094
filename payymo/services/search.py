"""Substring search conditions: through the search functions where they pay off.

On PostgreSQL with ``payymo db search-indexes`` done (the function and its indexes
ready), a search of a tenant of ``INDEXED_FROM`` rows or more (the rollups know the
count) reads a trigram index through its function (``services.search_indexes``), with
only the rare parts of its term (``narrowed``), and the rows come back behind the tenant
policy as usual. A smaller tenant, a term made of common trigrams, and elsewhere (SQLite,
a database without the functions) get a plain case-insensitive LIKE on each column.
A search of transactions first looks the term up among the tenant's payer names
(``search_names``): a list then reads the few names' lines name by name (``lookup``,
``others`` and ``services.transactions``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Select, func, null, or_, select
from sqlalchemy.orm import Session

from payymo.services import search_indexes, search_names
from payymo.services.filters import contains, escape_like
from payymo.services.rollups import read as rollups
from payymo.services.search_indexes import Search

# Measured (benchmarks/scale.py, 11M lines in the table): reading a tenant's own rows
# costs about 2.5 ms per 1,000 lines (25 ms at 10,000); the function, 10 to 40 ms
# whatever the tenant's size (a 10,000-line tenant's searches took 12 and 20 ms).
INDEXED_FROM = 5_000
# Up to this many names matching a search, their lines are read name by name, newest
# first, only as far as the page needs (an index descent per name); more, and the search
# function reads every line it finds ("Customer 424" matches 11 names in the benchmark).
NAMES_AT_MOST = 20
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


def _loose(session: Session, search: Search, texts: tuple[str, ...]) -> list[str] | None:
    """Each column's looser pattern, where the search function pays off; otherwise None.

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
    return None if None in loose else loose


def _function_ids(search: Search, texts: tuple[str, ...], loose: list, skip: str | None = None):
    """The search function's ids as a FROM; the column ``skip`` is not searched."""
    patterns = [
        None if c == skip else f"%{escape_like(t)}%"
        for c, t in zip(search.columns, texts, strict=True)
    ]
    loose = [None if c == skip else r for c, r in zip(search.columns, loose, strict=True)]
    args = [null() if p is None else p for p in (*patterns, *loose)]
    return getattr(func, search.function)(*args).table_valued("id").render_derived()


def _names(session: Session, search: Search, texts: tuple[str, ...], loose: list) -> list | None:
    """The tenant's names matching the search's named column, when there are few; else None.

    The names are looked up with the column's looser pattern: the names hold the
    lines' words, so the lines' common trigrams are theirs too.
    """
    if search.named is None or not search_names.ready(session.connection()):
        return None
    at = search.columns.index(search.named)
    found = search_names.find(
        session,
        exact=f"%{escape_like(texts[at])}%",
        loose=loose[at],
        at_most=NAMES_AT_MOST + 1,
    )
    return found if len(found) <= NAMES_AT_MOST else None


@dataclass(frozen=True)
class Lookup:
    """What a search learned before reading rows: how to read them.

    ``loose`` is None for a plain LIKE; otherwise each column's looser pattern for the
    search function. ``names`` are the tenant's names the term matches, where the search
    keeps names (``Search.named``) and they are few; None otherwise.
    """

    search: Search
    texts: tuple[str, ...]
    loose: list[str] | None = None
    names: list[str] | None = None


def lookup(session: Session, search: Search, texts: tuple[str, ...]) -> Lookup:
    """How to read the rows of ``search`` for ``texts``: the few queries it takes to know."""
    loose = _loose(session, search, texts)
    if loose is None:
        return Lookup(search, texts)
    return Lookup(search, texts, loose, _names(session, search, texts, loose))


def _plain(search: Search, model, texts: tuple[str, ...]):
    return or_(
        *(contains(getattr(model, c), t) for c, t in zip(search.columns, texts, strict=True))
    )


def matching(session: Session, search: Search, model, texts: tuple[str, ...]):
    """A condition: one of the search's columns contains its text (case-insensitive)."""
    loose = _loose(session, search, texts)
    if loose is None:
        return _plain(search, model, texts)
    ids = _function_ids(search, texts, loose)
    return model.id.in_(select(ids.c.id))


def restrict(
    session: Session,
    stmt: Select,
    search: Search,
    model,
    texts: tuple[str, ...],
    found: Lookup | None = None,
):
    """``stmt`` narrowed to the rows ``matching`` would keep, for a newest-first page.

    Through the function, the found ids are joined newest first: PostgreSQL then reads
    rows by id only until the page is full, not every row the search found. ``found``
    is the search's ``lookup``, where the caller has it.
    """
    found = found or lookup(session, search, texts)
    if found.loose is None:
        return stmt.where(_plain(search, model, texts))
    # No name matches: the function searches the other columns only.
    skip = search.named if found.names == [] else None
    ids = _function_ids(search, texts, found.loose, skip=skip)
    newest = select(ids.c.id).order_by(ids.c.id.desc()).subquery()
    return stmt.join(newest, newest.c.id == model.id)


def others(found: Lookup, model, stmt: Select) -> Select:
    """``stmt`` (a select of ``model``'s ids) narrowed to the rows the search finds by
    its other columns, less those with one of ``found.names`` (they are read by name)."""
    search = found.search
    column = getattr(model, search.named)
    ids = _function_ids(search, found.texts, found.loose, skip=search.named)
    return stmt.join(ids, ids.c.id == model.id).where(
        or_(column.is_(None), column.not_in(found.names))
    )
