"""Tenant reference patterns: compiled only when they cannot backtrack catastrophically.

The standard ``re`` module has no time limit and holds the GIL, so a pattern is
checked before use instead (no new dependency): it is parsed with ``re._parser`` and
refused when it has backreferences, a repeat inside a repeat (``(a+)+``), an
alternation inside a repeat (``(a|ab)*``) or more than two unbounded repeats — the
shapes behind exponential and high-polynomial backtracking. What remains is at worst
cubic, and it only ever sees the first ``PATTERN_TEXT`` characters of a text, so one
search is bounded to milliseconds. The engine also stops using a pattern for the rest
of a run once one search takes longer than ``SLOW_SEARCH_SECONDS``.
"""

from __future__ import annotations

import functools
import re
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]

MAX_PATTERN = 200
PATTERN_TEXT = 256
MAX_WIDE_REPEATS = 2
SLOW_SEARCH_SECONDS = 0.02
_WIDE = 16  # a repeat that can match more than this many times counts as unbounded
_MAX_MATCHES = 20


class InvalidPattern(ValueError):
    """A tenant reference pattern that does not compile or could backtrack badly."""


_REPEATS = {sre.MAX_REPEAT, sre.MIN_REPEAT, getattr(sre, "POSSESSIVE_REPEAT", sre.MAX_REPEAT)}
_REFUSED = {sre.GROUPREF, sre.GROUPREF_EXISTS}


def _children(op, av):
    if op in _REPEATS:
        return [av[2]]
    if op == sre.SUBPATTERN:
        return [av[3]]
    if op == sre.BRANCH:
        return list(av[1])
    if op in (sre.ASSERT, sre.ASSERT_NOT):
        return [av[1]]
    if op == getattr(sre, "ATOMIC_GROUP", None):
        return [av]
    return []


def _walk(items, inside_repeat: bool, counter: list[int]) -> None:
    for op, av in items:
        if op in _REFUSED:
            raise InvalidPattern("Backreferences are not allowed in a reference pattern.")
        if op in _REPEATS:
            high = av[1]
            if high > 1 and inside_repeat:
                raise InvalidPattern("A repeat inside a repeat can backtrack catastrophically.")
            if high > _WIDE:
                counter[0] += 1
            _walk(av[2], inside_repeat or high > 1, counter)
            continue
        if op == sre.BRANCH and inside_repeat:
            raise InvalidPattern("An alternation inside a repeat can backtrack catastrophically.")
        for child in _children(op, av):
            _walk(child, inside_repeat, counter)


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a tenant pattern after checking it is safe; raise ``InvalidPattern``."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise InvalidPattern(f"A reference pattern has 1 to {MAX_PATTERN} characters.")
    try:
        compiled = re.compile(pattern, re.IGNORECASE)
        parsed = sre_parse.parse(pattern, re.IGNORECASE)
    except (re.error, RecursionError, OverflowError) as exc:
        raise InvalidPattern(f"Not a valid regular expression: {exc}") from None
    counter = [0]
    _walk(parsed, False, counter)
    if counter[0] > MAX_WIDE_REPEATS:
        raise InvalidPattern(
            f"A reference pattern may have at most {MAX_WIDE_REPEATS} unbounded repeats."
        )
    return compiled


def validate_pattern(pattern: str) -> None:
    """Raise ``InvalidPattern`` unless the tenant pattern is usable (for settings checks)."""
    compile_pattern(pattern)


def run_pattern(compiled: re.Pattern[str], text: str) -> list[str]:
    """The references a compiled tenant pattern finds: group ``ref``, else 1, else all."""
    out: list[str] = []
    named = "ref" in compiled.groupindex
    for m in compiled.finditer(text[:PATTERN_TEXT]):
        if named:
            value = m.group("ref")
        elif compiled.groups:
            value = m.group(1)
        else:
            value = m.group(0)
        if value:
            out.append(value)
        if len(out) >= _MAX_MATCHES:
            break
    return out
