"""CSV bytes to rows: the encoding, the delimiter, and the line each row starts on."""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from typing import Any

import charset_normalizer

from .csv_mapping import Columns, find_header
from .errors import StatementFileError

DELIMITERS = (",", ";", "\t", "|")
_WESTERN = ["cp1252", "latin_1", "iso8859_15", "cp850"]
_SAMPLE_LINES = 60
_SAMPLE_CHARS = 65536
Rows = list[tuple[int, list[str]]]


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """The file as text: a given encoding, a BOM, UTF-8, else the likeliest Western code page."""
    if encoding:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise StatementFileError(
                f"the file is not {encoding}", where=f"byte {exc.start}"
            ) from None
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(name, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(data, cp_isolation=_WESTERN).best()
    return str(best) if best is not None else data.decode("cp1252", errors="replace")


def sniff_delimiter(text: str) -> str | None:
    """The delimiter giving most of the first lines one column count (>1), if any does."""
    ranked = rank_delimiters(text)
    return ranked[0] if ranked else None


def rank_delimiters(text: str) -> list[str]:
    """The delimiters that split the first lines consistently, the most consistent first."""
    sample = [line for line in text[:_SAMPLE_CHARS].splitlines()[:_SAMPLE_LINES] if line.strip()]
    scored: list[tuple[int, int, str]] = []
    for delimiter in DELIMITERS:
        counts = Counter(len(row) for row in csv.reader(sample, delimiter=delimiter))
        width, rows = max(counts.items(), key=lambda item: (item[1], item[0]), default=(0, 0))
        # Consistent: at least half the sample (a preamble may differ), and two rows or more.
        if width > 1 and rows * 2 >= len(sample) and rows >= min(2, len(sample)):
            scored.append((rows, width, delimiter))
    return [delimiter for _, _, delimiter in sorted(scored, reverse=True)]


def locate_header(
    text: str, delimiters: list[str], mapping: dict[str, Any] | None
) -> tuple[str, Rows, dict[str, Any], Columns, int]:
    """The rows as split by the first of ``delimiters`` under which a header row shows up."""
    # "1,50" in a ";" file may split more consistently on "," than on ";".
    failures: list[StatementFileError] = []
    for delimiter in delimiters:
        rows = _rows(text, delimiter)
        try:
            return (delimiter, rows, *find_header(rows, mapping))
        except StatementFileError as exc:
            failures.append(exc)
    raise failures[0]


def _rows(text: str, delimiter: str) -> Rows:
    """Non-blank rows with the file line each starts on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: Rows = []
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise StatementFileError(f"unreadable CSV: {exc}", where=f"line {start}") from None
    return rows
