"""One camt ``Ntry`` (and a ``Bal``'s amount) mapped to plain values; tags are local names."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element

from .types import StatementLine
from .values import clean, iban_or_none, join_unique, unique

# ISO amounts are unsigned: the sign is CdtDbtInd's.
_AMOUNT = re.compile(r"\d+(\.\d+)?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SIDE = {"CRDT": "Dbtr", "DBIT": "Cdtr"}


def entry_line(ntry: Element, index: int, where: str, currency: str | None) -> StatementLine:
    """The entry as a StatementLine; what cannot be read goes into ``error``."""
    problems: list[str] = []
    amount = signed_amount(ntry, "Ntry", problems)
    side = _SIDE.get((ntry.findtext("CdtDbtInd") or "").strip())
    txs = ntry.findall("NtryDtls/TxDtls")
    amt = ntry.find("Amt")
    sts = ntry.find("Sts")
    status = (sts.findtext("Cd") or sts.text or "") if sts is not None else ""
    remittance = join_unique(part for tx in txs for part in _remittance(tx))
    name = iban = None
    if side:  # a credit's counterparty is the debtor, a debit's the creditor
        name = unique(_party_name(tx, side) for tx in txs)
        iban = unique(iban_or_none(tx.findtext(f"RltdPties/{side}Acct/Id/IBAN")) for tx in txs)
    return StatementLine(
        index=index,
        where=where,
        line_id=clean(ntry.findtext("AcctSvcrRef"))
        or clean(ntry.findtext("NtryRef"))
        or unique(clean(tx.findtext("Refs/AcctSvcrRef")) for tx in txs),
        booking_date=element_date(ntry, "BookgDt", "Ntry", problems),
        value_date=element_date(ntry, "ValDt", "Ntry", problems),
        amount=amount,
        currency=currency_code(amt.get("Ccy") if amt is not None else None) or currency,
        counterparty_name=name,
        counterparty_iban=iban,
        remittance=remittance or clean(ntry.findtext("AddtlNtryInf")),
        end_to_end_id=unique(_end_to_end(tx) for tx in txs),
        status="pending" if status.strip().upper() == "PDNG" else "booked",
        error="; ".join(problems) or None,
    )


def signed_amount(element: Element, name: str, problems: list[str]) -> Decimal | None:
    """Amt signed by CdtDbtInd (a reversal's indicator already says which way it went)."""
    amt = element.find("Amt")
    text = (amt.text or "").strip() if amt is not None else ""
    indicator = (element.findtext("CdtDbtInd") or "").strip()
    before = len(problems)
    if amt is None:
        problems.append(f"{name}/Amt is missing")
    elif not _AMOUNT.fullmatch(text):
        problems.append(f"{name}/Amt {text!r} is not an amount")
    if indicator not in _SIDE:
        problems.append(f"{name}/CdtDbtInd {indicator!r} is neither CRDT nor DBIT")
    if len(problems) > before:
        return None
    return -Decimal(text) if indicator == "DBIT" else Decimal(text)


def element_date(element: Element, name: str, owner: str, problems: list[str]) -> date | None:
    """The day of ``name``/Dt or ``name``/DtTm, None when absent."""
    text = element.findtext(f"{name}/Dt") or element.findtext(f"{name}/DtTm")
    if text is None:
        return None
    text = text.strip()
    try:
        if not _DATE.match(text):
            raise ValueError(text)
        return date.fromisoformat(text[:10])
    except ValueError:
        problems.append(f"{owner}/{name} {text!r} is not a date")
        return None


def _party_name(tx: Element, side: str) -> str | None:
    for party in (side, f"Ultmt{side}"):
        name = tx.findtext(f"RltdPties/{party}/Nm") or tx.findtext(f"RltdPties/{party}/Pty/Nm")
        if clean(name):
            return clean(name)
    return None


def _end_to_end(tx: Element) -> str | None:
    value = clean(tx.findtext("Refs/EndToEndId"))
    return None if value is None or value.upper() == "NOTPROVIDED" else value


def _remittance(tx: Element) -> list[str | None]:
    ustrd = [clean(text.text) for text in tx.iterfind("RmtInf/Ustrd")]
    parts: list[str | None] = [" ".join(text for text in ustrd if text)]
    for strd in tx.iterfind("RmtInf/Strd"):
        parts.append(strd.findtext("RfrdDocInf/Nb"))
        parts.append(strd.findtext("CdtrRefInf/Ref"))
        parts.extend(text.text for text in strd.iterfind("AddtlRmtInf"))
    return parts


def currency_code(text: str | None) -> str | None:
    """Upper-case currency code, None when empty."""
    return clean(text).upper() if clean(text) else None
