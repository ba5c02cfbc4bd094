"""Invoice references in remittance text: tokenising, normalising, tenant patterns.

A reference is a sequence of runs (letters or digits); separators, case and leading
zeros do not count, and generic words (``INV``, ``Invoice no.``, ``Rechnung``) all
become ``INV``. Comparisons are between whole runs, so ``INV-1`` never matches ``INV-12``.
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz.distance import OSA

from payymo.matching.patterns import compile_pattern, run_pattern

# Words that only say "this is an invoice number"; they are all the same prefix.
GENERIC_PREFIXES = frozenset(
    {
        "INV", "INVOICE", "INVNO", "INVNR", "INVOICENO", "INVOICENR", "NO", "NR", "NUM",
        "NUMBER", "NBR", "REF", "REFERENCE", "BILL", "RECHNUNG", "RECHNUNGSNR", "RG",
        "RGNR", "RE", "FACTURE", "FACTURA", "FAKTURA", "FATTURA", "FACT", "FACTUUR", "FAC",
        "FA", "NUMERO", "N", "NUMMER",
    }
)  # fmt: skip
GENERIC = "INV"
MAX_TEXT = 1000  # remittance lines are 140 characters in SEPA; anything longer is cut
_RUN = re.compile(r"[A-Z]+|[0-9]+")
_DIGITS = frozenset("0123456789")
_TIGHT = frozenset({"", "-", ".", "_", "/"})  # separators inside one reference
_JOIN = frozenset({"", "-", ".", "_"})  # separators inside one segment
_MAX_CORE_RUNS = 4
_MAX_PREFIX_RUNS = 2
_LOOSE = frozenset({"", "-", ".", "_", "/", "#", ":", ".:", "#:", "N°"})


def _fold(text: str) -> str:
    if text.isascii():
        return text.upper()
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().upper()


def _canon_runs(runs: list[str]) -> list[str]:
    """Strip leading zeros and collapse generic prefix words into ``INV``."""
    out = [(r.lstrip("0") or "0") if r[0] in _DIGITS else r for r in runs]
    if not out or out[0] not in GENERIC_PREFIXES:
        return out
    lead = 1
    while lead < len(out) and out[lead] in GENERIC_PREFIXES:
        lead += 1
    rest = out[lead:]
    if rest and rest[0][0] not in _DIGITS:
        return rest  # "Invoice RE-2024" keeps the invoice's own prefix
    return [GENERIC, *rest]


def reference_forms(value: str) -> tuple[str, str]:
    """(canonical form, form without the letter prefix) of a reference, in one pass."""
    runs = _canon_runs(_RUN.findall(_fold(value or "")))
    i = 0
    while i < len(runs) and runs[i][0] not in _DIGITS:
        i += 1
    full = "-".join(runs)
    return full, full if i == 0 else "-".join(runs[i:])


def normalize_reference(value: str) -> str:
    """Canonical form of a reference: ``"Invoice no. 001042"`` → ``"INV-1042"``."""
    return "-".join(_canon_runs(_RUN.findall(_fold(value or ""))))


def reference_core(value: str) -> str:
    """The reference without its letter prefix: ``"INV-001042"`` → ``"1042"``."""
    return reference_forms(value)[1]


def core_is_specific(core: str, min_digits: int = 3) -> bool:
    """Whether a bare number may stand for an invoice: 3+ digits and not a year."""
    if core.isdigit():
        return len(core) >= min_digits and not (len(core) == 4 and 1990 <= int(core) <= 2039)
    return sum(c in _DIGITS for c in core) >= min_digits


def _runs_with_gaps(text: str) -> list[tuple[str, str]]:
    """(run, separator before it) for every letter/digit run of the folded text."""
    out: list[tuple[str, str]] = []
    end = 0
    for m in _RUN.finditer(text):
        out.append((m.group(), text[end : m.start()]))
        end = m.end()
    return out


def _prefix_ok(run: str, gap_after: str) -> bool:
    """A letter run belongs to the reference after it: joined tightly, or a generic word."""
    if gap_after in ("", "-"):
        return True
    stripped = gap_after.strip()
    return (
        run in GENERIC_PREFIXES
        and len(gap_after) <= 4
        and "\n" not in gap_after
        and stripped in _LOOSE
    )


def _is_prefix(runs: list[tuple[str, str]], j: int) -> bool:
    run = runs[j - 1][0]
    return run.isalpha() and _prefix_ok(run, runs[j][1])


def candidate_tokens(text: str) -> list[tuple[str, str, int, int]]:
    """Every (full, core, first run, last run) reference reading of a text, for look-ups.

    A core is one or more whole segments: runs joined by ``-``, ``.`` or ``_`` form one
    segment (``2024-0042``, a date) that is never split, while ``/`` may join two
    references (``INV 1042/1043``) or be part of one (``2024/0042``), so both readings
    are tried. Up to two letter runs before a core form its prefix.
    """
    runs = _runs_with_gaps(_fold(text[:MAX_TEXT]))
    out: list[tuple[str, str, int, int]] = []
    n = len(runs)
    shared: list[list[str]] = [[]]
    for i, (run, gap) in enumerate(runs):
        after_digits = i > 0 and runs[i - 1][0][0] in _DIGITS
        if run[0] not in _DIGITS or (after_digits and gap in _JOIN):
            continue
        inherited = after_digits and gap == "/"
        if inherited:
            prefixes = shared  # "INV 1042/1043": the second number shares the prefix
        else:
            prefixes = [[]]
            j = i
            while j > 0 and i - j < _MAX_PREFIX_RUNS and _is_prefix(runs, j):
                j -= 1
                prefixes.append([r for r, _ in runs[j:i]])
            shared = prefixes
        core: list[str] = []
        for k in range(i, min(n, i + _MAX_CORE_RUNS)):
            if k > i and runs[k][1] not in _TIGHT:
                break
            core.append(runs[k][0])
            if k + 1 < n and runs[k + 1][1] in _JOIN:
                continue  # the segment goes on: never cut it
            core_token = "-".join(_canon_runs(core))
            for prefix in prefixes:
                full = "-".join(_canon_runs(prefix + core)) if prefix else core_token
                out.append((full, core_token, i if inherited else i - len(prefix), k))
    return out


def extract_references(text: str, pattern: str | None = None) -> list[str]:
    """Normalised reference tokens found in a remittance text (tenant regex if given).

    With a tenant ``pattern`` its named group ``ref`` (else group 1, else the whole match)
    is the reference; ``patterns.compile_pattern`` runs it on RE2 and raises
    ``patterns.InvalidPattern`` when RE2 cannot run it or it is over the caps.
    """
    text = text or ""
    if pattern:
        compiled = compile_pattern(pattern)
        return list(
            dict.fromkeys(t for t in map(normalize_reference, run_pattern(compiled, text)) if t)
        )
    return list(dict.fromkeys(_maximal_tokens(text)))


def _maximal_tokens(text: str) -> list[str]:
    """The longest reading of each reference: prefix words plus the whole tight chain."""
    runs = _runs_with_gaps(_fold(text[:MAX_TEXT]))
    out: list[str] = []
    i = 0
    while i < len(runs):
        if not runs[i][0][0].isdigit():
            i += 1
            continue
        j = i
        while j > 0 and i - j < _MAX_PREFIX_RUNS and _is_prefix(runs, j):
            j -= 1
        k = i + 1
        while (
            k < len(runs)
            and runs[k][1] in _TIGHT
            and not (runs[k][1] == "/" and runs[k][0].isalpha())
        ):
            k += 1
        out.append("-".join(_canon_runs([r for r, _ in runs[j:k]])))
        i = k
    return out


NEAR_MIN_LENGTH = 4  # one edit in a shorter number names too many other numbers


def near_core(core: str) -> bool:
    """Whether a reference core is long and specific enough for a one-edit slip to count."""
    return len(core) >= NEAR_MIN_LENGTH and core_is_specific(core)


def one_edit_apart(a: str, b: str) -> bool:
    """One substitution, adjacent transposition, dropped or added character apart (not equal)."""
    return a != b and abs(len(a) - len(b)) <= 1 and OSA.distance(a, b, score_cutoff=1) == 1


def near_tokens(tokens) -> tuple[tuple[str, str], ...]:
    """(core, as written) of each reference reading specific enough for a slip to count."""
    out = dict.fromkeys((core, full) for full, core, _start, _end in tokens if near_core(core))
    return tuple(out)
