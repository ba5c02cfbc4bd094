"""SWIFT MT940 through the mt-940 library, German structured :86: through its processors.

We only unwrap the SWIFT envelope ({1:…}{2:…}{4: … -}) line by line, so line numbers stay
true, check the block structure, and swap in a lenient :61: tag: an entry the library cannot
read keeps its place with ``error`` instead of failing the file. A broken balance or other
tag still fails the file. Measured on this 2-core machine, busy with another benchmark:
100,000 :61:/:86: pairs (22 MB, German structured details) read in about 7 s, nearly all
of it inside the library.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date
from decimal import InvalidOperation
from typing import Any

import mt940

from .errors import StatementFileError
from .mt940_blocks import decode, entry_lines, tag_error, unwrap
from .types import Balance, Statement, StatementLine
from .values import clean, failed_line, iban_or_none

# The library logs a tag it cannot parse, quoting it (names, IBANs): we report it ourselves.
logging.getLogger("mt940").setLevel(logging.CRITICAL)
_OPTIONS = mt940.Options.all()
_NAME_PART = re.compile(r"\?3([23])([^?]*)")
_NAME_WIDTH = 27
_EREF = re.compile(r"EREF\+(\S+)")
_DETAIL_WIDTH = 65


def _details(transactions: Any, tag: Any, tag_dict: dict[str, Any], result: Any) -> Any:
    """The library's structured-:86: processor, then ?32/?33 joined like the purpose is."""
    raw = "".join(tag_dict["transaction_details"].splitlines())
    result = mt940.processors.transaction_details_post_processor(
        transactions, tag, tag_dict, result
    )
    if "transaction_details" not in result:
        parts = [text for _, text in _NAME_PART.findall(raw)]
        # ?32 and ?33 are 27 wide: a name split mid-word fills ?32, a short one ends a word.
        if parts:
            result["applicant_name"] = (
                parts[0] + ("" if len(parts[0]) >= _NAME_WIDTH else " ") + "".join(parts[1:])
            )
    return result


_PROCESSORS: dict[str, list[Any]] = {"post_transaction_details": [_details]}
_OPENING = ("final_opening_balance", "intermediate_opening_balance", "opening_balance")
_CLOSING = ("final_closing_balance", "intermediate_closing_balance", "closing_balance")


def read_mt940(data: bytes, *, currency: str | None = None) -> Statement:
    """Read an MT940 file (one or more statements of one account)."""
    text = unwrap(decode(data))
    starts = entry_lines(text)
    try:
        blocks = mt940.parse_statements(
            text, tags={61: _LenientLine(starts)}, processors=_PROCESSORS, options=_OPTIONS
        )
        opening = _balance(blocks[0].data, _OPENING)
        closing = _balance(blocks[-1].data, _CLOSING)
    except (RuntimeError, ValueError, InvalidOperation, AttributeError) as exc:
        raise tag_error(text, exc) from None
    accounts = {a for block in blocks if (a := clean(block.data.get("account_identification")))}
    if len(accounts) > 1:
        raise StatementFileError(
            "the statements are for different accounts: " + ", ".join(sorted(accounts)),
            where="tag :25:",
        )
    account = accounts.pop() if accounts else None
    stated = (blocks[0].currency or "").upper() or currency
    entries = [t.data for block in blocks for t in block.transactions]
    return Statement(
        format="mt940",
        currency=stated,
        account_iban=_account_iban(account),
        opening_balance=opening,
        closing_balance=closing,
        lines=[_line(entry, index, stated) for index, entry in enumerate(entries)],
    )


class _LenientLine(mt940.tags.Statement):
    """The :61: tag, but an entry that does not parse becomes an entry with an error."""

    def __init__(self, line_numbers: list[int]):
        super().__init__()
        self.numbers: Iterator[int] = iter(line_numbers)

    def parse(self, transactions: Any, value: str) -> dict[str, Any]:
        where = f"line {next(self.numbers, 0)}"
        first = value.split("\n", 1)[0]
        match = self.re.match(value)
        if match is None:
            return {"where": where, "error": f":61: {first!r} is not a valid statement line"}
        return {**match.groupdict(), "where": where, "raw": first}

    def __call__(self, transactions: Any, value: dict[str, Any]) -> dict[str, Any]:
        # A truthy id keeps the library from merging the next :61: into this one.
        if "error" in value:
            return {"id": "-", **value}
        try:
            value = mt940.processors.date_fixup_pre_processor(transactions, self, value)
            data = super().__call__(transactions, value)
        except InvalidOperation:
            return {
                "id": "-",
                "where": value["where"],
                "error": f":61: {value['raw']!r} has a bad amount",
            }
        except ValueError:
            return {
                "id": "-",
                "where": value["where"],
                "error": f":61: {value['raw']!r} has a bad date",
            }
        data["id"] = data.get("id") or "-"
        return data


def _line(data: dict[str, Any], index: int, currency: str | None) -> StatementLine:
    where = data.get("where", "line ?")
    if "error" in data:
        return failed_line(index, where, data["error"], currency)
    amount = data["amount"]
    value_date = _plain(data.get("date"))
    raw = data.get("transaction_details")
    if raw is None:
        name = clean(data.get("applicant_name"))
        iban = iban_or_none(data.get("applicant_iban")) or iban_or_none(
            data.get("gvc_applicant_iban")
        )
        remittance = clean((data.get("purpose") or "") + (data.get("additional_purpose") or ""))
        e2e = clean(data.get("end_to_end_reference"))
    else:
        name, iban, remittance = None, None, _join_details(raw)
        found = _EREF.search(remittance or "")
        e2e = found.group(1) if found else None
    customer = clean(data.get("customer_reference"))
    return StatementLine(
        index=index,
        where=where,
        line_id=clean(data.get("bank_reference"))
        or (customer if customer and customer.upper() != "NONREF" else None),
        booking_date=_plain(data.get("entry_date")) or value_date,
        value_date=value_date,
        amount=amount.amount,
        currency=(amount.currency or "").upper() or currency,
        counterparty_name=name,
        counterparty_iban=iban,
        remittance=remittance,
        end_to_end_id=None if e2e is None or e2e.upper() == "NOTPROVIDED" else e2e,
        status="booked",
    )


def _join_details(raw: str) -> str | None:
    # Banks wrap free text at 65 characters, mid-word: a full line runs on without a space.
    joined, previous = "", ""
    for line in raw.split("\n"):
        joined += line if len(previous) >= _DETAIL_WIDTH else f" {line}"
        previous = line
    return clean(joined)


def _balance(data: dict[str, Any], keys: tuple[str, ...]) -> Balance | None:
    found = next((data[key] for key in keys if data.get(key) is not None), None)
    if found is None:
        return None
    if not isinstance(found.amount, mt940.models.Amount):
        raise ValueError(f"balance without an amount: {found!r}")
    return Balance(
        amount=found.amount.amount,
        currency=(found.amount.currency or "").upper(),
        date=_plain(found.date),
    )


def _account_iban(account: str | None) -> str | None:
    if not account:
        return None
    # Some banks append the currency to :25: (DE89…3000EUR).
    return iban_or_none(account) or iban_or_none(re.sub(r"[A-Z]{3}$", "", account))


def _plain(value: date | None) -> date | None:
    return date(value.year, value.month, value.day) if value is not None else None
