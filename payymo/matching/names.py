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


def similarity_normalized(left: str, right: str) -> float:
    """Similarity in [0, 100] of two names already passed through ``normalize_name``."""
    if not left or not right:
        return 0.0
    return fuzz.token_set_ratio(left, right)


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
