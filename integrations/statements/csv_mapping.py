"""Which CSV column holds what: the built-in presets, and checking and resolving a mapping.

A mapping value is a column name; a list names several columns joined with " " (for
``description``/``remittance``); a tuple lists alternative names, the first in the header
wins (the presets use that to cover several banks' spellings).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Any

from .errors import StatementFileError

CSV_PRESETS: dict[str, dict[str, Any]] = {
    "uk": {
        "date": "Date",
        "description": "Description",
        "amount": "Amount",
        "date_format": ["%d/%m/%Y", "%Y-%m-%d"],
    },
    "de": {
        "date": ("Buchungstag", "Buchungsdatum", "Buchung"),
        "value_date": ("Valutadatum", "Wertstellung", "Valuta"),
        "description": "Verwendungszweck",
        "amount": ("Betrag", "Betrag (EUR)", "Betrag (€)", "Umsatz"),
        "counterparty_name": (
            "Beguenstigter/Zahlungspflichtiger",
            "Name Zahlungsbeteiligter",
            "Auftraggeber/Empfänger",
            "Auftraggeber/Begünstigter",
        ),
        "counterparty_iban": ("IBAN", "Kontonummer/IBAN", "IBAN Zahlungsbeteiligter"),
        "currency": ("Waehrung", "Währung"),
        "date_format": ["%d.%m.%Y", "%d.%m.%y"],
    },
}
COLUMN_KEYS = (
    "date", "value_date", "amount", "debit", "credit", "currency", "description",
    "remittance", "counterparty_name", "counterparty_iban", "id", "end_to_end_id",
)  # fmt: skip
OPTION_KEYS = ("date_format", "decimal", "delimiter", "encoding")
DEFAULT_DATE_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y"]
_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Columns:
    """A mapping resolved against one header row: field → column positions."""

    fields: dict[str, list[int]]
    header_line: int
    width: int


def normalise(name: str) -> str:
    """A header cell as compared: case, spaces and umlaut spelling do not matter."""
    return _SPACE.sub("", name.casefold().translate(_UMLAUTS)).strip("\"'")


def check_mapping(mapping: dict[str, Any]) -> None:
    """Refuse a mapping with unknown keys, no date or no amount columns, or bad options."""
    unknown = sorted(set(mapping) - set(COLUMN_KEYS) - set(OPTION_KEYS))
    if unknown:
        raise StatementFileError(f"unknown CSV mapping key {unknown[0]!r}", where="mapping")
    if not mapping.get("date"):
        raise StatementFileError("a CSV mapping needs a 'date' column", where="mapping")
    has_amount = bool(mapping.get("amount"))
    has_split = bool(mapping.get("debit")) or bool(mapping.get("credit"))
    if has_amount == has_split or (
        has_split and not (mapping.get("debit") and mapping.get("credit"))
    ):
        raise StatementFileError(
            "a CSV mapping needs either 'amount' or both 'debit' and 'credit'", where="mapping"
        )
    for key in COLUMN_KEYS:
        value = mapping.get(key)
        names = [value] if isinstance(value, str) else list(value or [])
        if value is not None and (not names or not all(isinstance(n, str) and n for n in names)):
            raise StatementFileError(f"CSV mapping key {key!r} must name columns", where="mapping")
    if mapping.get("decimal") not in (None, ",", "."):
        raise StatementFileError("CSV mapping 'decimal' must be ',' or '.'", where="mapping")
    delimiter = mapping.get("delimiter")
    if delimiter is not None and (not isinstance(delimiter, str) or len(delimiter) != 1):
        raise StatementFileError("CSV mapping 'delimiter' must be one character", where="mapping")
    if mapping.get("encoding") is not None:
        try:
            codecs.lookup(mapping["encoding"])
        except (LookupError, TypeError):
            raise StatementFileError(
                f"unknown encoding {mapping['encoding']!r}", where="mapping"
            ) from None


def date_formats(mapping: dict[str, Any]) -> list[str]:
    """The date formats to try, in order."""
    value = mapping.get("date_format") or DEFAULT_DATE_FORMATS
    return [value] if isinstance(value, str) else list(value)


def resolve(mapping: dict[str, Any], header: list[str], line: int, *, strict: bool) -> Columns:
    """Place each mapped field in ``header``; strict: every named column must be there."""
    positions: dict[str, int] = {}
    for position, cell in enumerate(header):
        positions.setdefault(normalise(cell), position)
    fields: dict[str, list[int]] = {}
    for key in COLUMN_KEYS:
        value = mapping.get(key)
        if not value:
            continue
        if isinstance(value, tuple):
            found = next(
                (positions[normalise(n)] for n in value if normalise(n) in positions), None
            )
            missing = [] if found is not None else [" or ".join(value)]
            columns = [] if found is None else [found]
        else:
            names = [value] if isinstance(value, str) else list(value)
            missing = [n for n in names if normalise(n) not in positions]
            columns = [positions[normalise(n)] for n in names if normalise(n) in positions]
        required = key in ("date", "amount", "debit", "credit", "description", "remittance")
        if missing and (strict or required):
            # A mapping the caller wrote is what is wrong; a preset's column, the file.
            raise StatementFileError(
                f"column {missing[0]!r} (mapping key {key!r}) is not in the header (line {line})",
                where="mapping" if strict else f"line {line}",
            )
        if columns:
            fields[key] = columns
    # A header ending in delimiters promises no columns: rows may stop before them.
    width = len(header)
    while width > 1 and not header[width - 1].strip():
        width -= 1
    return Columns(fields=fields, header_line=line, width=width)


def find_header(
    rows: list[tuple[int, list[str]]], mapping: dict[str, Any] | None
) -> tuple[dict[str, Any], Columns, int]:
    """The first row that carries the mapping's (or a preset's) key columns, resolved."""
    candidates = [mapping] if mapping is not None else list(CSV_PRESETS.values())
    for position, (line, row) in enumerate(rows[:50]):
        for candidate in candidates:
            try:
                resolve(candidate, row, line, strict=False)
            except StatementFileError:
                continue
            return candidate, resolve(candidate, row, line, strict=mapping is not None), position
    if mapping is not None and rows:
        # Name the first column the header lacks, as seen from the first row.
        resolve(mapping, rows[0][1], rows[0][0], strict=True)
    raise StatementFileError(
        "no header row with known columns; pass a mapping (presets: "
        + ", ".join(CSV_PRESETS)
        + ")",
        where=f"line {rows[0][0]}" if rows else "line 1",
    )
