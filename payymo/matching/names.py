"""Company and person names: normalisation, similarity, and the customer key."""

from __future__ import annotations

import functools
import re
import unicodedata

from rapidfuzz import fuzz

# Legal forms dropped before comparing names (after punctuation is removed).
LEGAL_SUFFIXES = frozenset(
    {
        "ltd", "limited", "plc", "llp", "llc", "inc", "incorporated", "corp", "corporation",
        "co", "company", "gmbh", "mbh", "ag", "kg", "ug", "ohg", "ev", "bv", "nv", "vof",
        "sa", "sas", "sarl", "sl", "srl", "spa", "oy", "ab", "as", "aps", "asa",
        "kft", "sro", "zoo", "sp", "pty", "pte", "lda", "the",
    }
)  # fmt: skip
# Titles a bank puts before a person's name; never part of who pays.
HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "herr", "frau", "mme", "m"})
INITIAL_CAP = 90  # "J Smith" is likely John Smith, but could be James: never quite equal
CONTRADICTED = 70  # below every name step: "P Martin" says nothing for Anna Martin
_NON_WORD = re.compile(r"[^0-9a-z]+")
_INITIALS = re.compile(r"\b([a-z])\.(?=[a-z]\.?\b)")
_CACHE = 1 << 16  # distinct names per run; payers and customers repeat a lot


def _ascii_lower(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()


@functools.lru_cache(maxsize=_CACHE)
def normalize_name(name: str | None) -> str:
    """Lower-case ASCII words without punctuation or legal suffixes: ``"ACME Ltd."`` → ``"acme"``."""
    if not name:
        return ""
    ascii_name = _ascii_lower(name)
    # "B.V." and "S.A." become "bv" and "sa" before splitting into words.
    ascii_name = _INITIALS.sub(r"\1", ascii_name)
    words = [w for w in _NON_WORD.split(ascii_name) if w]
    if len(words) > 1 and words[0] in HONORIFICS:
        words = words[1:]
    kept = [w for w in words if w not in LEGAL_SUFFIXES]
    return " ".join(kept or words)


@functools.lru_cache(maxsize=_CACHE)
def plain_name(name: str | None) -> str:
    """Lower-case ASCII letters and digits only, legal form kept: ``"Acme Ltd."`` → ``"acmeltd"``."""
    if not name:
        return ""
    return _NON_WORD.sub("", _ascii_lower(name))


def name_similarity(a: str | None, b: str | None) -> float:
    """Similarity of two names in [0, 100] after normalisation (token-set ratio)."""
    return similarity_normalized(normalize_name(a), normalize_name(b))


def similarity_normalized(left: str, right: str, **_kwargs) -> float:
    """Similarity in [0, 100] of two names already passed through ``normalize_name``.

    Word order never matters ("smith john" is "john smith"), and an initial stands for a
    word it begins ("j smith", "smith j"), scoring at most ``INITIAL_CAP``.
    """
    if not left or not right:
        return 0.0
    plain = fuzz.token_set_ratio(left, right)
    if plain >= INITIAL_CAP:
        return plain
    if not (_has_initial(left) or _has_initial(right)):
        return plain
    expanded = _expand_initials(left, right) or _expand_initials(right, left)
    if expanded is None:
        # "p martin" is not Anna Martin: an initial that fits none of the other's given
        # names contradicts it, however alike the surnames are
        return min(plain, CONTRADICTED) if _contradicts(left, right) else plain
    return max(plain, min(fuzz.token_set_ratio(*expanded), INITIAL_CAP))


def _contradicts(left: str, right: str) -> bool:
    """One name's initial matches no word the other name has beyond the shared ones."""
    for short, full in ((left, right), (right, left)):
        words, others = short.split(), full.split()
        free = [w for w in others if w not in words and len(w) > 1]
        initials = [w for w in words if len(w) == 1]
        if initials and free and not all(any(f.startswith(i) for f in free) for i in initials):
            return True
    return False


@functools.lru_cache(maxsize=_CACHE)
def _has_initial(name: str) -> bool:
    return any(len(word) == 1 for word in name.split())


def _expand_initials(short: str, full: str) -> tuple[str, str] | None:
    """``short`` with each initial replaced by an unused word of ``full`` it begins, if any."""
    words, others = short.split(), full.split()
    if not _has_initial(short) or len(words) > 4:
        return None
    free = [w for w in others if w not in words]
    out = []
    for word in words:
        if len(word) == 1:
            match = next((w for w in free if w.startswith(word) and len(w) > 1), None)
            if match is None:
                return None
            free.remove(match)
            word = match
        out.append(word)
    return " ".join(out), full


def customer_key(*, reference: str | None, name: str | None, email: str | None) -> str:
    """A stable key grouping a customer's invoices (reference, else name, else email)."""
    if reference and reference.strip():
        return "ref:" + reference.strip().upper()
    normalized = normalize_name(name)
    if normalized:
        return "name:" + normalized
    if email and email.strip():
        return "email:" + email.strip().lower()
    return ""
