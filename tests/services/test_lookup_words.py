"""The look-up tables' name words: how many customer names share each, and which crossed.

A word shared by more than ``MAX_WORD_POSTINGS`` names no longer narrows a search; an
incremental run decides again the credits carrying a word that crossed that line
either way (``name_tables.apply_words``). Here the line is at two names.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from payymo.models import ReconcileWord
from payymo.services.reconciliation import name_tables
from payymo.tenancy import tenant_scope


def _rows(session) -> set[tuple[str, str, int]]:
    found = session.execute(select(ReconcileWord.word, ReconcileWord.name, ReconcileWord.invoices))
    return {tuple(row) for row in found}


def test_a_word_crosses_the_common_line_as_names_come_and_go(session, tenant, monkeypatch):
    monkeypatch.setattr(name_tables, "MAX_WORD_POSTINGS", 2)
    apply = name_tables.apply_words
    with tenant_scope(tenant.tenant_id):
        two = Counter({("EUR", "acme", "acme one"): 1, ("EUR", "acme", "acme two"): 1})
        assert apply(session, two) == set()  # two names: not over the line
        third = Counter({("EUR", "acme", "acme three"): 2, ("EUR", "tools", "acme two"): 1})
        assert apply(session, third) == {("EUR", "acme")}
        more = Counter({("EUR", "acme", "acme one"): 1, ("EUR", "acme", "acme two"): -1})
        # One name's count grows, another's row goes: three names, then two.
        assert apply(session, more) == {("EUR", "acme")}
        assert _rows(session) == {
            ("acme", "acme one", 2),
            ("acme", "acme three", 2),
            ("tools", "acme two", 1),
        }
        assert name_tables.word_name_counts(session, {("EUR", "acme"), ("EUR", "gone")}) == {
            ("EUR", "acme"): 2,
            ("EUR", "gone"): 0,
        }
