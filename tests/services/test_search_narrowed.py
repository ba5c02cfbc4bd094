"""The looser pattern a search hands the trigram index: its term's rare parts, in order."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from payymo.services.search import narrowed


def ilike(value: str, pattern: str) -> bool:
    """``value ILIKE pattern`` for patterns of '%' and literal characters (no '_', no escapes)."""
    parts = [re.escape(p) for p in pattern.split("%")]
    return re.fullmatch(".*".join(parts), value, re.IGNORECASE | re.DOTALL) is not None


def test_common_words_are_left_out_and_rare_ones_kept_in_order():
    common = frozenset({"cus", "ust", "sto", "tom", "ome", "mer", "gmb", "mbh"})
    assert narrowed("Customer 4242 GmbH", common) == "%4242 %"
    assert narrowed("INV-0001234 Customer", frozenset({"inv", "000", "001"})) == "%01234 %Customer%"
    assert narrowed("Acme 77 Ltd", frozenset()) == "%Acme %Ltd%"  # "77" has no trigram


def test_a_part_that_ends_its_word_keeps_the_mark_after_it():
    # pg_trgm reads "42 " (a word ending in 42) only if the pattern shows the word's end.
    assert narrowed("4242-7", frozenset()) == "%4242-%"
    assert narrowed("Customer 4242", frozenset()) == "%Customer %4242%"  # the text ends
    assert narrowed("4242 x", frozenset({"42 "})) == "%4242%"  # a common end: no help
    assert narrowed("abcde x", frozenset({"cde"})) == "%abcd%"  # the part ends early
    # LIKE's own characters are never kept (they would match more, or escape).
    assert narrowed("4242%x", frozenset()) == "%4242%"
    assert narrowed("4242_x", frozenset()) == "%4242%"
    assert narrowed("4242\\x", frozenset()) == "%4242%"


def test_a_term_of_common_trigrams_or_short_words_has_no_rare_part():
    assert narrowed("GmbH", frozenset({"gmb", "mbh"})) is None
    assert narrowed("de 12", frozenset()) is None


def test_runs_of_one_word_never_overlap():
    # "bcd" is common: "abc" and "cde" share the "c" that "abcde" has once, so the second
    # run starts after the first one's end.
    assert narrowed("abcde", frozenset({"bcd"})) == "%abc%"
    assert narrowed("abcdefg", frozenset({"bcd"})) == "%abc%defg%"
    assert narrowed("abc cde", frozenset()) == "%abc %cde%"  # one space, once


def test_the_case_of_the_term_is_kept():
    assert narrowed("ÄrgerBank", frozenset()) == "%ÄrgerBank%"


@settings(max_examples=300, deadline=None)
@given(
    term=st.text(alphabet="abcAB12 -._%", min_size=1, max_size=14),
    before=st.text(alphabet="abcAB12 -.x", max_size=8),
    after=st.text(alphabet="abcAB12 -.x", max_size=8),
    common=st.frozensets(st.text(alphabet="abc12 ", min_size=3, max_size=3), max_size=12),
)
def test_every_value_containing_the_term_matches_the_looser_pattern(term, before, after, common):
    pattern = narrowed(term, common)
    if pattern is not None:
        assert "_" not in pattern and "\\" not in pattern, pattern
        assert ilike(before + term.swapcase() + after, pattern), (term, pattern)
