"""Bank statement files (camt.053/052/054, MT940, OFX, CSV) read into plain Python values.

Knows nothing of Flask, SQLAlchemy or payymo: amounts stay signed Decimals, and turning
them into minor units, validating and importing is the caller's business.
"""

from __future__ import annotations

from typing import Any

from .camt import read_camt
from .csv_files import CSV_PRESETS, read_csv
from .detect import detect_format
from .errors import FORMATS, StatementFileError, UnknownFormat
from .mt940 import read_mt940
from .ofx import read_ofx
from .types import Balance, Statement, StatementLine

__all__ = [
    "CSV_PRESETS",
    "FORMATS",
    "Balance",
    "Statement",
    "StatementFileError",
    "StatementLine",
    "UnknownFormat",
    "read_statement",
]


def read_statement(
    data: bytes,
    *,
    format: str | None = None,
    filename: str | None = None,
    mapping: dict[str, Any] | None = None,
    currency: str | None = None,
) -> Statement:
    """Read a statement file; ``format`` None means detect it from the content."""
    fmt = format.strip().lower() if format else detect_format(data, filename)
    if fmt.startswith("camt"):
        if fmt not in ("camt", *FORMATS[:3]):
            raise UnknownFormat(f"unknown format {format!r}")
        # The document itself says which camt message it is.
        return read_camt(data, currency=currency)
    if fmt == "mt940":
        return read_mt940(data, currency=currency)
    if fmt == "ofx":
        return read_ofx(data, currency=currency)
    if fmt == "csv":
        return read_csv(data, mapping=mapping, currency=currency)
    raise UnknownFormat(f"unknown format {format!r}")
