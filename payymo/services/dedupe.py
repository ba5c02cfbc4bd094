"""Dedupe keys for bank transactions, shared by statement import and bank sync.

A row with an id (the client's id on import; ``transactionId``, else
``internalTransactionId``, on GoCardless sync) is keyed ``id:<id>``. A row without one
is keyed ``h:<sha256 of its normalised content>:<n>``, ``n`` counting identical content
within the batch: two identical coffees on one statement are two transactions, and
importing the same statement again yields the same keys.

Pure functions over plain mappings using the ``Transaction`` column names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import unicodedata
from collections.abc import Iterable, Mapping

KEY_MAX_LENGTH = 160
ID_PREFIX = "id:"
# Ids too long for the column are hashed under their own prefix so they cannot collide
# with a short id that happens to look like a digest.
LONG_ID_PREFIX = "idh:"
HASH_PREFIX = "h:"
# SEPA's placeholder for "no end-to-end id": the same as none at all.
_NO_END_TO_END = "notprovided"

CONTENT_FIELDS = (
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "counterparty_name",
    "counterparty_iban",
    "remittance_information",
    "end_to_end_id",
)


def normalise_text(value: str | None) -> str:
    """NFKC, casefolded, whitespace collapsed to single spaces and trimmed; None → ''."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def _compact(value: str | None) -> str:
    return "".join(normalise_text(value).split()).upper()


def _date(value: dt.date | str | None) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip()).isoformat()
    raise TypeError(f"expected a date, got {type(value).__name__}")


def _amount(value: int) -> str:
    # Floats never reach a key: 12.3 and 12.30000001 must not silently differ or agree.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"amount must be integer minor units, got {type(value).__name__}")
    return str(value)


def _end_to_end(value: str | None) -> str:
    text = normalise_text(value)
    return "" if text == _NO_END_TO_END else text


def normalised_content(row: Mapping) -> list[str]:
    """The content fields of ``row`` in canonical form, in ``CONTENT_FIELDS`` order."""
    return [
        _date(row.get("booking_date")),
        _date(row.get("value_date")),
        _amount(row["amount"]),
        _compact(row.get("currency")),
        normalise_text(row.get("counterparty_name")),
        _compact(row.get("counterparty_iban")),
        normalise_text(row.get("remittance_information")),
        _end_to_end(row.get("end_to_end_id")),
    ]


def content_hash(row: Mapping) -> str:
    """SHA-256 (hex) of the row's normalised content."""
    encoded = json.dumps(normalised_content(row), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def clean_id(value: str | None) -> str | None:
    """A usable id: trimmed, or None when missing or blank."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError(f"id must be text, got {type(value).__name__}")
    return value.strip() or None


def id_key(row_id: str) -> str:
    """The key of a row that carries an id (case preserved: ids are opaque)."""
    key = ID_PREFIX + row_id
    if len(key) <= KEY_MAX_LENGTH:
        return key
    return LONG_ID_PREFIX + hashlib.sha256(row_id.encode("utf-8")).hexdigest()


def hash_key(digest: str, occurrence: int) -> str:
    """The key of the ``occurrence``-th (1-based) row of identical content in a batch."""
    if occurrence < 1:
        raise ValueError("occurrence counts from 1")
    return f"{HASH_PREFIX}{digest}:{occurrence}"


def dedupe_keys(rows: Iterable[Mapping], *, seen: dict[str, int] | None = None) -> list[str]:
    """One key per row, in order; ``row["id"]`` wins when given, else content + occurrence.

    ``seen`` carries the occurrences counted so far across calls (one file's chunks).
    """
    seen = {} if seen is None else seen
    keys = []
    for row in rows:
        row_id = clean_id(row.get("id"))
        if row_id is not None:
            keys.append(id_key(row_id))
            continue
        digest = content_hash(row)
        seen[digest] = seen.get(digest, 0) + 1
        keys.append(hash_key(digest, seen[digest]))
    return keys
