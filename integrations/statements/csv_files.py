"""Bank CSV exports: encoding, delimiter, header row and decimal convention found per file."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from .csv_mapping import CSV_PRESETS, Columns, check_mapping, date_formats
from .csv_text import decode_text, locate_header, rank_delimiters
from .errors import StatementFileError
from .types import Statement, StatementLine
from .values import clean, failed_line, iban_or_none

__all__ = ["CSV_PRESETS", "read_csv"]

_NOISE = re.compile(r"[\s\u00a0'\u2019€£$]|EUR|GBP|USD|CHF", re.IGNORECASE)


def read_csv(
    data: bytes, *, mapping: dict[str, Any] | None = None, currency: str | None = None
) -> Statement:
    """Read a CSV export with ``mapping``, or with the preset its header matches."""
    if mapping is not None:
        check_mapping(mapping)
    options = mapping or {}
    text = decode_text(data, options.get("encoding"))
    delimiters = [options["delimiter"]] if options.get("delimiter") else rank_delimiters(text)
    if not delimiters:
        raise StatementFileError("no consistent delimiter (, ; tab |) in the CSV", where="line 1")
    delimiter, rows, chosen, columns, at = locate_header(text, delimiters, mapping)
    body = rows[at + 1 :]
    decimal = chosen.get("decimal") or _guess_decimal(body, columns, delimiter)
    formats = date_formats(chosen)
    default = currency.upper() if currency else None
    lines = [
        _line(row, line, index, columns, decimal, formats, default)
        for index, (line, row) in enumerate(body)
    ]
    return Statement("csv", default, None, None, None, lines)


def _line(
    row: list[str],
    line: int,
    index: int,
    columns: Columns,
    decimal: str,
    formats: list[str],
    currency: str | None,
) -> StatementLine:
    where = f"line {line}"
    if len(row) < columns.width or any(cell.strip() for cell in row[columns.width :]):
        error = f"expected {columns.width} columns, found {len(row)}"
        return failed_line(index, where, error, currency)

    def cell(key: str) -> str | None:
        return clean(" ".join(row[i] for i in columns.fields.get(key, [])))

    problems: list[str] = []
    booked = _date(cell("date"), formats, "date", problems)
    return StatementLine(
        index=index,
        where=where,
        line_id=cell("id"),
        booking_date=booked,
        value_date=_date(cell("value_date"), formats, "value_date", problems),
        amount=_amount(cell, "amount" not in columns.fields, decimal, problems),
        currency=(cell("currency") or "").upper() or currency,
        counterparty_name=cell("counterparty_name"),
        counterparty_iban=iban_or_none(cell("counterparty_iban")),
        remittance=clean(" ".join(filter(None, (cell("description"), cell("remittance"))))),
        end_to_end_id=cell("end_to_end_id"),
        status="booked",
        error="; ".join(problems) or None,
    )


def _date(raw: str | None, formats: list[str], key: str, problems: list[str]) -> date | None:
    if raw is None:
        if key == "date":
            problems.append("date is empty")
        return None
    parsed = _parse_date(raw, tuple(formats))
    if parsed is None:
        problems.append(f"{key} {raw!r} is not a date ({' or '.join(formats)})")
    return parsed


@lru_cache(maxsize=4096)
def _parse_date(raw: str, formats: tuple[str, ...]) -> date | None:
    # A statement repeats a few dates many times, and strptime is slow.
    for fmt in formats:
        try:
            return datetime.strptime(raw, fmt).date()
        except ValueError:
            continue
    return None


def _amount(cell: Any, split: bool, decimal: str, problems: list[str]) -> Decimal | None:
    if not split:
        return _number(cell("amount"), decimal, "amount", problems)
    raw_debit, raw_credit = cell("debit"), cell("credit")
    if raw_debit is None and raw_credit is None:
        problems.append("debit and credit are both empty")
        return None
    debit = _number(raw_debit, decimal, "debit", problems) if raw_debit else None
    credit = _number(raw_credit, decimal, "credit", problems) if raw_credit else None
    if debit and credit:
        problems.append("both debit and credit are filled")
        return None
    # A debit column holds money out, whether the bank writes it with a minus or not.
    if debit:
        return -abs(debit)
    return abs(credit) if credit is not None else debit


def _number(raw: str | None, decimal: str, key: str, problems: list[str]) -> Decimal | None:
    if raw is None:
        problems.append(f"{key} is empty")
        return None
    text = _NOISE.sub("", raw).replace("\u2212", "-")
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()")
    if text.endswith("-"):
        negative, text = True, text[:-1]
    if text and text[0] in "+-":
        negative, text = negative or text[0] == "-", text[1:]
    thousands = "." if decimal == "," else ","
    pattern = rf"(\d{{1,3}}(\{thousands}\d{{3}})+|\d+)(\{decimal}\d+)?"
    if not re.fullmatch(pattern, text):
        problems.append(f"{key} {raw!r} is not an amount")
        return None
    number = Decimal(text.replace(thousands, "").replace(decimal, "."))
    return -number if negative else number


def _guess_decimal(body: list[tuple[int, list[str]]], columns: Columns, delimiter: str) -> str:
    votes: Counter[str] = Counter()
    positions = [i for key in ("amount", "debit", "credit") for i in columns.fields.get(key, [])]
    for _, row in body[:500]:
        for i in positions:
            text = _NOISE.sub("", row[i]) if i < len(row) else ""
            if "." in text and "," in text:
                votes["," if text.rfind(",") > text.rfind(".") else "."] += 1
            elif re.search(r"[.,]\d{3}$", text) is None and (
                mark := re.search(r"[.,](?=\d+$)", text)
            ):
                votes[mark.group()] += 1
    if votes:
        return votes.most_common(1)[0][0]
    # Only "1.234"-style values: German exports (";") use the comma for decimals.
    return "," if delimiter == ";" else "."
