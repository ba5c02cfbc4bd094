"""OFX 1.x (SGML, unclosed tags) and 2.x (XML) through ofxtools' header parser and tree builder.

We read the element tree ofxtools builds rather than its typed ``convert()``: that validates
the whole document at once, so one bad TRNAMT would lose the file, and it turns DTPOSTED
into UTC, which can move a late-evening posting to the next day. ofxtools tokenizes with
regular expressions, never an XML parser, so no entity is ever expanded; a DOCTYPE or
ENTITY declaration is refused anyway, like in every other XML we read.
"""

from __future__ import annotations

import html
import io
import re
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element

from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError, TreeBuilder

from .errors import StatementFileError
from .types import Balance, Statement, StatementLine
from .values import clean, iban_or_none, join_unique

_DECLARATION = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_END = re.compile(rb"</OFX>", re.IGNORECASE)
_AMOUNT = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_DATE = re.compile(r"\d{8}")
_STATEMENTS = ("STMTRS", "CCSTMTRS")


def read_ofx(data: bytes, *, currency: str | None = None) -> Statement:
    """Read an OFX bank or credit-card statement download."""
    if _DECLARATION.search(data):
        raise StatementFileError(
            "OFX with a DTD or entity declarations is refused", where="DOCTYPE"
        )
    if not _END.search(data):
        raise StatementFileError("the OFX file is cut short: no </OFX>", where="end of file")
    root = _tree(data)
    statements = [element for name in _STATEMENTS for element in root.iter(name)]
    if not statements:
        raise StatementFileError("OFX file holds no STMTRS statement", where="element OFX")
    accounts = {
        _text(s, "BANKACCTFROM/ACCTID") or _text(s, "CCACCTFROM/ACCTID") for s in statements
    }
    accounts.discard(None)
    if len(accounts) > 1:
        raise StatementFileError(
            "the statements are for different accounts: " + ", ".join(sorted(accounts)),  # type: ignore[arg-type]
            where="element ACCTID",
        )
    stated = (_text(statements[0], "CURDEF") or "").upper() or currency
    lines: list[StatementLine] = []
    for statement in statements:
        own = (_text(statement, "CURDEF") or "").upper() or stated
        for trn in statement.iterfind("BANKTRANLIST/STMTTRN"):
            lines.append(_line(trn, len(lines), own))
    return Statement(
        format="ofx",
        currency=stated,
        account_iban=iban_or_none(accounts.pop()) if accounts else None,
        opening_balance=None,
        closing_balance=_ledger(statements[-1], stated),
        lines=lines,
    )


def _tree(data: bytes) -> Element:
    try:
        tree = OFXTree()
        try:
            return tree.parse(io.BytesIO(data))
        except OFXHeaderError:
            # No or a malformed header: read the body from <OFX> on, as most importers do.
            start = data.upper().find(b"<OFX>")
            if start < 0:
                raise
            builder = TreeBuilder()
            builder.feed(_decode(data[start:]))
            return builder.close()
    except (OFXHeaderError, ParseError, UnicodeDecodeError, IndexError) as exc:
        raise StatementFileError(
            f"not a readable OFX file: {exc}", where="OFX header/body"
        ) from None


def _line(trn: Element, index: int, currency: str | None) -> StatementLine:
    problems: list[str] = []
    raw = _text(trn, "TRNAMT")
    amount = None
    if raw is None:
        problems.append("STMTTRN/TRNAMT is missing")
    elif not _AMOUNT.fullmatch(raw):
        problems.append(f"STMTTRN/TRNAMT {raw!r} is not an amount")
    else:
        amount = Decimal(raw.replace(",", "."))
    posted = _date(trn, "DTPOSTED", problems)
    if posted is None and not problems:
        problems.append("STMTTRN/DTPOSTED is missing")
    payee = _text(trn, "PAYEE/NAME")
    name = _text(trn, "NAME")
    memo = _text(trn, "MEMO")
    return StatementLine(
        index=index,
        where=f"STMTTRN {index + 1}",
        line_id=_text(trn, "FITID"),
        booking_date=posted,
        value_date=_date(trn, "DTAVAIL", problems) or _date(trn, "DTUSER", problems),
        amount=amount,
        currency=(_text(trn, "CURRENCY/CURSYM") or "").upper() or currency,
        counterparty_name=payee or name,
        counterparty_iban=iban_or_none(_text(trn, "BANKACCTTO/ACCTID")),
        remittance=join_unique([name, memo]) if payee is None else memo,
        end_to_end_id=None,
        status="booked",
        error="; ".join(problems) or None,
    )


def _ledger(statement: Element, currency: str | None) -> Balance | None:
    raw = _text(statement, "LEDGERBAL/BALAMT")
    if raw is None:
        return None
    if not _AMOUNT.fullmatch(raw) or currency is None:
        raise StatementFileError(
            f"LEDGERBAL/BALAMT {raw!r} is not an amount", where="element LEDGERBAL"
        )
    problems: list[str] = []
    day = _date(statement, "LEDGERBAL/DTASOF", problems)
    if problems:
        raise StatementFileError(problems[0], where="element LEDGERBAL")
    return Balance(amount=Decimal(raw.replace(",", ".")), currency=currency, date=day)


def _date(element: Element, path: str, problems: list[str]) -> date | None:
    # The first 8 digits are the bank's own calendar day, whatever time zone follows.
    raw = _text(element, path)
    if raw is None:
        return None
    try:
        if not _DATE.match(raw):
            raise ValueError(raw)
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
    except ValueError:
        problems.append(f"{path} {raw!r} is not a date")
        return None


def _text(element: Element, path: str) -> str | None:
    return clean(html.unescape(element.findtext(path) or ""))


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
