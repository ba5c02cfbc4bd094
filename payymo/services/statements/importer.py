"""Import a statement file into a manual account: read, convert, dedupe, write set-based.

The file is read by ``integrations.statements``; each line becomes a transaction row as
bank sync makes them (``banking.lines.to_row``: exact minor units, the account's
currency, clean text), so a line keeps its dedupe key whichever way it arrives. Lines
already in the account (an overlapping statement, the same file again) or earlier in
the file answer ``duplicate`` with the existing id; the rest are inserted in one
set-based pass with their ``transaction.created`` events (``banking.ingest``), under the
account's row lock, in the caller's transaction. A file that cannot be read at all, or
is for another currency, writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from integrations.banking import BankTransaction
from integrations.statements import (
    CSV_PRESETS,
    FORMATS,
    Balance,
    Statement,
    StatementFileError,
    StatementLine,
    UnknownFormat,
    read_statement,
)
from payymo import collector, money
from payymo.db import utcnow
from payymo.errors import InvalidRequest, PayloadTooLarge
from payymo.money import MoneyError
from payymo.services import dedupe, jobs
from payymo.services.banking.ingest import Ahead, insert_with_events, new_record
from payymo.services.banking.lines import to_row
from payymo.services.batch import RowResult, failed_row
from payymo.services.transactions import IMPORT_ROW_STATUSES as ROW_STATUSES
from payymo.services.transactions import existing_keys, import_account
from payymo.tenancy import get_for_update_or_404

STATEMENT_FORMATS = tuple(FORMATS)
__all__ = [
    "CSV_PRESETS",
    "MAX_FILE_BYTES",
    "ROW_STATUSES",
    "STATEMENT_FORMATS",
    "StatementImport",
    "import_statement",
    "mapping_from_text",
    "read_upload",
    "too_large",
]
# The largest file the API and the portal take (the CLI reads any size).
MAX_FILE_BYTES = 20 * 1024 * 1024
PREFIX = "lines"
WRITE_CHUNK = 20_000


def too_large() -> PayloadTooLarge:
    """The 413 of a statement file over ``MAX_FILE_BYTES``."""
    megabytes = MAX_FILE_BYTES // (1024 * 1024)
    return PayloadTooLarge(f"The statement file is over the {megabytes} MB limit.", param="file")


def read_upload(stream) -> bytes:
    """An uploaded file's bytes; 413 past ``MAX_FILE_BYTES`` (read one byte past, no more)."""
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise too_large()
    return data


def mapping_from_text(text: str) -> dict:
    """A CSV mapping sent as text: a preset's name or a JSON object; ValueError otherwise."""
    if text.strip() in CSV_PRESETS:
        return CSV_PRESETS[text.strip()]
    try:
        mapping = json.loads(text)
    except ValueError:
        mapping = None
    if not isinstance(mapping, dict):
        presets = ", ".join(CSV_PRESETS)
        raise ValueError(f"Send a JSON object of columns, or a preset name ({presets}).")
    return mapping


@dataclass
class StatementImport:
    """What importing one file did: per-line results and what the file said of itself."""

    account_id: str
    format: str
    results: list[RowResult]
    opening_balance: dict | None = None
    closing_balance: dict | None = None
    warnings: list[dict] = field(default_factory=list)


def _balance(balance: Balance | None, currency: str) -> dict | None:
    if balance is None:
        return None
    try:
        amount = money.to_minor(balance.amount, currency)
    except MoneyError as exc:
        raise InvalidRequest(
            f"The statement's balance {balance.amount} does not fit {currency}: {exc}.",
            param="file",
            code="statement_unreadable",
        ) from exc
    return {"amount": amount, "currency": currency, "date": balance.date}


def _row_error(line: StatementLine, message: str, *, param: str | None, code: str) -> RowResult:
    exc = InvalidRequest(f"{line.where}: {message}", param=param, code=code)
    return failed_row(exc, index=line.index, prefix=PREFIX)


def _to_row(line: StatementLine, currency: str, places: int) -> dict | RowResult:
    """The transaction row of one line, or its error result."""
    if line.error:
        return _row_error(line, line.error, param=None, code="line_unreadable")
    # A pending line often has no booking date yet: its value date stands in.
    booking_date = line.booking_date or line.value_date
    if line.amount is None or booking_date is None:
        missing = "amount" if line.amount is None else "booking_date"
        return _row_error(
            line, f"the line has no {missing}.", param=missing, code="line_incomplete"
        )
    code = line.currency or currency
    if code != currency:
        message = f"currency {code} does not match the account's {currency}."
        return _row_error(line, message, param="currency", code="currency_mismatch")
    bank_line = BankTransaction(
        status=line.status,
        amount=line.amount,
        currency=code,
        id=line.line_id,
        booking_date=booking_date,
        value_date=line.value_date,
        counterparty_name=line.counterparty_name,
        counterparty_iban=line.counterparty_iban,
        remittance_information=line.remittance,
        end_to_end_id=line.end_to_end_id,
    )
    try:
        return to_row(bank_line, currency, places)
    except MoneyError as exc:
        return _row_error(line, f"{exc}.", param="amount", code="amount_invalid")


def _read(data: bytes, *, format, filename, mapping, currency: str) -> Statement:
    try:
        return read_statement(
            data, format=format, filename=filename, mapping=mapping, currency=currency
        )
    except UnknownFormat as exc:
        raise InvalidRequest(exc.message, param="format", code="statement_format_unknown") from exc
    except StatementFileError as exc:
        if exc.where == "mapping":
            message = f"The CSV mapping does not fit the file: {exc.message}"
            raise InvalidRequest(message, param="mapping", code="mapping_invalid") from exc
        where = f" ({exc.where})" if exc.where else ""
        message = f"The statement file could not be read{where}: {exc.message}"
        raise InvalidRequest(message, param="file", code="statement_unreadable") from exc


def _balance_warning(
    opening: dict | None, closing: dict | None, booked: int | None, currency: str
) -> list[dict]:
    """A warning when the closing balance is not the opening one plus the booked lines.

    ``booked``: the sum of the file's booked lines, None when a line could not be read.
    """
    if opening is None or closing is None or booked is None:
        return []
    expected = opening["amount"] + booked
    actual = closing["amount"]
    if expected == actual:
        return []
    return [
        {
            "code": "balance_mismatch",
            "message": (
                f"The closing balance {money.to_display(actual, currency)} is not the opening"
                f" balance plus the lines ({money.to_display(expected, currency)})."
            ),
        }
    ]


@dataclass
class _Chunk:
    """Some of the file's lines converted: row errors, and rows with their dedupe keys."""

    errors: list[RowResult]
    rows: list[tuple[int, dict, str]]


def _convert(lines, currency: str, places: int, seen: dict[str, int]) -> _Chunk:
    """Rows and keys of these lines (no database: it runs while the server inserts).

    ``seen`` counts content keys across the file's chunks, as one ``dedupe_keys`` call
    over every line would.
    """
    errors: list[RowResult] = []
    rows: list[tuple[int, dict]] = []
    for line in lines:
        converted = _to_row(line, currency, places)
        if isinstance(converted, RowResult):
            errors.append(converted)
        else:
            rows.append((line.index, converted))
    keys = dedupe.dedupe_keys((row for _, row in rows), seen=seen)
    return _Chunk(errors, [(i, row, key) for (i, row), key in zip(rows, keys, strict=True)])


def import_statement(
    *,
    session: Session,
    account_id: str,
    data: bytes,
    format: str | None = None,
    filename: str | None = None,
    mapping: dict | None = None,
    progress: Callable[[int, int], object] | None = None,
) -> StatementImport:
    """Import a statement file's lines into a manual account (not committed).

    ``progress(done, total)`` is called as each chunk of the file's lines is written.
    """
    with collector.paused():  # a file's lines are 100k objects the collector would walk
        return _import(
            session=session,
            account_id=account_id,
            data=data,
            format=format,
            filename=filename,
            mapping=mapping,
            progress=progress,
        )


def _import(*, session, account_id, data, format, filename, mapping, progress) -> StatementImport:
    account = import_account(session, account_id)
    currency = account.currency
    statement = _read(data, format=format, filename=filename, mapping=mapping, currency=currency)
    if statement.currency and statement.currency != currency:
        raise InvalidRequest(
            f"The statement is in {statement.currency}; the account is in {currency}.",
            param="file",
            code="currency_mismatch",
        )
    opening = _balance(statement.opening_balance, currency)
    closing = _balance(statement.closing_balance, currency)
    places = money.exponent(currency)
    lines = statement.lines
    # Concurrent imports into one account take turns: the second sees the first's lines.
    get_for_update_or_404(session, type(account), account.id)
    # Each chunk is converted while the server inserts the one before it.
    seen: dict[str, int] = {}
    starts = range(0, len(lines), WRITE_CHUNK)
    chunks = Ahead(_convert(lines[i : i + WRITE_CHUNK], currency, places, seen) for i in starts)
    results: list[RowResult] = []
    known: dict[str, str] = {}  # key -> id: the account's lines, and the file's so far
    booked: int | None = 0
    now = utcnow()
    for number, start in enumerate(starts):
        chunk = chunks.get(number)
        results += chunk.errors
        if chunk.errors:
            booked = None
        elif booked is not None:
            # Pending lines are not in the booked balance yet.
            booked += sum(row["amount"] for _, row, _ in chunk.rows if row["status"] == "booked")
        asked = [key for _, _, key in chunk.rows if key not in known]
        known.update(existing_keys(session, account.id, asked))
        fresh: list[tuple[int, dict]] = []
        for index, row, key in chunk.rows:
            if key in known:
                results.append(RowResult(index, "duplicate", known[key]))
                continue
            record = new_record(row, account_id=account.id, key=key, now=now)
            known[key] = record["id"]
            fresh.append((index, record))
        records = [record for _, record in fresh]
        inserted = {r["id"] for r in insert_with_events(session, records, meanwhile=chunks.advance)}
        results += _created_or_lost(session, account.id, fresh, inserted)
        if progress is not None:
            progress(min(start + WRITE_CHUNK, len(lines)), len(lines))
    if any(result.status == "created" for result in results):
        jobs.request_reconcile(session=session, reason="statement_imported")
    return StatementImport(
        account_id=account.id,
        format=statement.format,
        results=sorted(results, key=lambda r: r.index),
        opening_balance=opening,
        closing_balance=closing,
        warnings=_balance_warning(opening, closing, booked, currency),
    )


def _created_or_lost(session, account_id: str, fresh, inserted: set[str]) -> list[RowResult]:
    """Each new line's result: created, or a duplicate of what another import wrote first."""
    lost = [record["dedupe_key"] for _, record in fresh if record["id"] not in inserted]
    winners = existing_keys(session, account_id, lost) if lost else {}
    return [
        RowResult(index, "created", record["id"])
        if record["id"] in inserted
        else RowResult(index, "duplicate", winners.get(record["dedupe_key"]))
        for index, record in fresh
    ]
