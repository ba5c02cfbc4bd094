"""Small text helpers the readers share: IBAN shape, joining text parts without repeats."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from .types import StatementLine

_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}")
_SPACE = re.compile(r"\s+")


def clean(text: str | None) -> str | None:
    """Collapse runs of whitespace; None for nothing left."""
    if text is None:
        return None
    text = _SPACE.sub(" ", text).strip()
    return text or None


@lru_cache(maxsize=16384)
def iban_or_none(text: str | None) -> str | None:
    """The IBAN without spaces, upper-case, if ``text`` is one (shape and check digits)."""
    if not text:
        return None
    compact = _SPACE.sub("", text).upper()
    if not _IBAN.fullmatch(compact):
        return None
    digits = "".join(str(int(char, 36)) for char in compact[4:] + compact[:4])
    return compact if int(digits) % 97 == 1 else None


def join_unique(parts: Iterable[str | None]) -> str | None:
    """Join the parts with " ", skipping any already contained in what came before."""
    joined = ""
    for part in parts:
        part = clean(part)
        if part and part.casefold() not in joined.casefold():
            joined = f"{joined} {part}" if joined else part
    return joined or None


def unique(values: Iterable[str | None]) -> str | None:
    """The one distinct non-empty value, or None when there are none or several."""
    found = {value for value in values if value}
    return found.pop() if len(found) == 1 else None


def failed_line(index: int, where: str, error: str, currency: str | None) -> StatementLine:
    """An entry that could not be read: only its place, the error and the default currency."""
    return StatementLine(
        index, where, None, None, None, None, currency, None, None, None, None, "booked", error
    )
