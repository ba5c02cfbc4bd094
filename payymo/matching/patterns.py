"""Tenant reference patterns, run on RE2: no backtracking, so no pattern can blow up.

Python's ``re`` backtracks, and no screen for catastrophic patterns is complete, so
tenant patterns run on RE2 (``google-re2``), whose search time is linear in the text
for a given program. The rest is bounded by caps: a pattern has at most
``MAX_PATTERN`` characters and ``MAX_PROGRAM`` RE2 instructions, RE2 gets ``MAX_MEM``
bytes for it, and it reads the first ``PATTERN_TEXT`` characters of a text and looks
at its first ``_MAX_MATCHES`` matches there. A text then costs microseconds for an
ordinary pattern and a bounded fraction of a second for the worst one can write, the
same on every run, so no time limit is needed. What RE2 cannot run (backreferences,
lookaround, possessive repeats, atomic groups) is refused with the reason."""

from __future__ import annotations

import functools
import itertools

import re2

MAX_PATTERN = 200
PATTERN_TEXT = 1000  # the same window the built-in reader uses (references.MAX_TEXT)
MAX_PROGRAM = 2000  # RE2 instructions; a search costs at most text length x this
MAX_MEM = 256 * 1024  # RE2's budget for one pattern's program and DFA cache
_MAX_MATCHES = 20  # matches looked at per text, empty ones included: each is a search

# Messages for what RE2 refuses by design, keyed by what its error names.
_LOOKAROUND = "Lookaround ((?=, (?!, (?<=, (?<!) is not supported in a reference pattern."
_BACKREFERENCE = (
    "Backreferences (\\1, \\k<name>, (?P=name)) are not supported in a reference pattern."
)
_POSSESSIVE = "Possessive repeats (a++, a*+, a?+) are not supported in a reference pattern."
_ATOMIC = "Atomic groups ((?>...)) are not supported in a reference pattern."
_CONDITIONAL = "Conditionals ((?(1)...|...)) are not supported in a reference pattern."
_BACKREFERENCE_ESCAPES = frozenset("123456789k")  # \1..\9, \k<name>
_PERL_OPERATORS = {
    "(?=": _LOOKAROUND,
    "(?!": _LOOKAROUND,
    "(?<=": _LOOKAROUND,
    "(?<!": _LOOKAROUND,
    "(?>": _ATOMIC,
    "(?(": _CONDITIONAL,
}


class InvalidPattern(ValueError):
    """A tenant reference pattern that RE2 cannot compile or that is too large to run."""


def _options() -> re2.Options:
    options = re2.Options()
    options.case_sensitive = False
    options.max_mem = MAX_MEM
    options.log_errors = False  # a refusal is the client's answer, not a log line
    return options


_OPTIONS = _options()


def _reason(message: str, pattern: str) -> str:
    """A sentence saying why RE2 refused ``pattern``, from RE2's ``"<what>: <where>"``."""
    what, _, where = message.partition(": ")
    if what == "invalid perl operator":
        if where in _PERL_OPERATORS:
            return _PERL_OPERATORS[where]
        if where == "(?P" and "(?P=" in pattern:
            return _BACKREFERENCE
    if what == "invalid escape sequence":
        if where[1:2] in _BACKREFERENCE_ESCAPES:
            return _BACKREFERENCE
        if where == "\\Z":
            return "\\Z is not supported in a reference pattern; use \\z for the end of the text."
    if what == "bad repetition operator" and where.endswith("+"):
        return _POSSESSIVE
    if what == "invalid repetition size":
        return (
            f"Repeat counts go up to 1000, nested repeats multiplied together ({where}) "
            "in a reference pattern."
        )
    if what.startswith("pattern too large"):
        return _too_complex()
    return f"Not a valid RE2 regular expression: {message}."


def _too_complex(size: int | None = None) -> str:
    expands = f" (it expands to {size} instructions)" if size else ""
    return (
        f"This reference pattern is too complex{expands}; the limit is {MAX_PROGRAM}. "
        "Use smaller repeat counts, e.g. \\w{4,40} rather than \\w{1,500}."
    )


@functools.lru_cache(maxsize=64)
def compile_pattern(pattern: str) -> re2._Regexp:
    """Compile a tenant pattern on RE2, case-insensitive; raise ``InvalidPattern`` saying why."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise InvalidPattern(f"A reference pattern has 1 to {MAX_PATTERN} characters.")
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except UnicodeEncodeError:
        raise InvalidPattern("A reference pattern must be valid Unicode text.") from None
    except re2.error as exc:
        raw = exc.args[0] if exc.args else ""
        message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        raise InvalidPattern(_reason(message, pattern)) from None
    if compiled.programsize > MAX_PROGRAM:
        raise InvalidPattern(_too_complex(compiled.programsize))
    return compiled


def validate_pattern(pattern: str) -> None:
    """Raise ``InvalidPattern`` unless the tenant pattern is usable (for settings checks)."""
    compile_pattern(pattern)


def run_pattern(compiled: re2._Regexp, text: str) -> list[str]:
    """The references in a text's first matches: group ``ref``, else group 1, else the match."""
    # RE2 reads UTF-8; a lone surrogate (valid in JSON, not in UTF-8) becomes "?".
    data = text[:PATTERN_TEXT].encode("utf-8", "replace")
    group = "ref" if "ref" in compiled.groupindex else (1 if compiled.groups else 0)
    out: list[str] = []
    for m in itertools.islice(compiled.finditer(data), _MAX_MATCHES):
        value = m.group(group)
        if value:
            out.append(value.decode("utf-8", "replace"))
    return out
