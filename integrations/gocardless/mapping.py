"""GoCardless JSON → the interface's plain types (lenient where the API is inconsistent)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from integrations.banking import (
    Account,
    Balance,
    BankTransaction,
    Consent,
    ConsentStatus,
    Institution,
    MalformedData,
    MalformedTransaction,
    TransactionPage,
)

STATUSES = {
    "CR": ConsentStatus.CREATED,
    "GC": ConsentStatus.GIVING_CONSENT,
    "UA": ConsentStatus.AUTHENTICATING,
    "RJ": ConsentStatus.REJECTED,
    "SA": ConsentStatus.SELECTING_ACCOUNTS,
    "GA": ConsentStatus.GRANTING_ACCESS,
    "LN": ConsentStatus.LINKED,
    "SU": ConsentStatus.SUSPENDED,
    "EX": ConsentStatus.EXPIRED,
}
_AMOUNT = re.compile(r"[+-]?\d+(\.\d+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")


def days(value, default: int = 90) -> int:
    """A day count sent as a string ("730") or a number."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def status(value) -> tuple[ConsentStatus, str]:
    """A requisition status, as a string ("LN") or the older object ({"short": "LN"})."""
    code = value.get("short") if isinstance(value, dict) else value
    code = str(code or "").strip().upper()
    if code not in STATUSES:
        raise MalformedData(f"GoCardless sent an unknown requisition status {code!r}.")
    return STATUSES[code], code


def institution(body: dict) -> Institution:
    """One institution."""
    try:
        return Institution(
            id=str(body["id"]),
            name=str(body.get("name") or body["id"]),
            bic=body.get("bic") or None,
            countries=tuple(body.get("countries") or ()),
            logo=body.get("logo") or None,
            max_history_days=days(body.get("transaction_total_days"), 90),
            max_access_days=days(body.get("max_access_valid_for_days"), 90),
        )
    except (KeyError, TypeError) as exc:
        raise MalformedData("GoCardless sent an institution without an id.") from exc


def consent(body: dict, agreement: dict | None = None) -> Consent:
    """A requisition (and the agreement it was made with, when known)."""
    try:
        state, code = status(body.get("status"))
        return Consent(
            id=str(body["id"]),
            institution_id=str(body.get("institution_id") or ""),
            status=state,
            link=str(body.get("link") or ""),
            reference=str(body.get("reference") or ""),
            accounts=tuple(str(a) for a in body.get("accounts") or ()),
            agreement_id=(agreement or {}).get("id") or body.get("agreement"),
            max_history_days=days((agreement or {}).get("max_historical_days"), 0) or None,
            access_days=days((agreement or {}).get("access_valid_for_days"), 0) or None,
            provider_status=code,
        )
    except (KeyError, TypeError) as exc:
        raise MalformedData("GoCardless sent a requisition without an id.") from exc


def account(meta: dict, details: dict | None) -> Account:
    """Account metadata merged with its details (``{"account": {...}}``)."""
    info = (details or {}).get("account") or {}
    return Account(
        id=str(meta.get("id") or info.get("resourceId") or ""),
        institution_id=meta.get("institution_id"),
        iban=info.get("iban") or meta.get("iban"),
        currency=(info.get("currency") or "").upper() or None,
        name=info.get("name") or info.get("product") or info.get("displayName"),
        owner_name=info.get("ownerName") or meta.get("owner_name"),
        product=info.get("product"),
        bic=info.get("bic"),
        status=meta.get("status"),
    )


def _decimal(value) -> Decimal:
    text = str(value).strip() if isinstance(value, str | int) else ""
    if not _AMOUNT.fullmatch(text):
        raise ValueError(f"amount {value!r} is not a decimal number")
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"amount {value!r} is not a decimal number") from exc


def balances(body: dict) -> list[Balance]:
    """The balances an account reports; unreadable ones are left out."""
    out = []
    for item in (body or {}).get("balances") or []:
        try:
            money = item["balanceAmount"]
            out.append(
                Balance(
                    kind=str(item.get("balanceType") or "unknown"),
                    amount=_decimal(money["amount"]),
                    currency=str(money.get("currency") or "").upper(),
                    reference_date=_date(item.get("referenceDate")),
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    return out


def _date(value) -> dt.date | None:
    if not value or not isinstance(value, str):
        return None
    return dt.date.fromisoformat(value[:10])


def _party_account(value) -> str | None:
    if isinstance(value, dict):
        return value.get("iban") or value.get("bban") or None
    return None


def _remittance(item: dict) -> str | None:
    for name in ("remittanceInformationUnstructured", "remittanceInformationStructured"):
        if item.get(name):
            return str(item[name])
    for name in (
        "remittanceInformationUnstructuredArray",
        "remittanceInformationStructuredArray",
    ):
        if item.get(name):
            return " ".join(str(part) for part in item[name] if part)
    return item.get("additionalInformation") or None


def transaction(item: dict, state: str) -> BankTransaction:
    """One line; raises ValueError (with the reason) when it cannot be read."""
    if not isinstance(item, dict):
        raise ValueError("the line is not an object")
    money = item.get("transactionAmount")
    if not isinstance(money, dict) or "amount" not in money:
        raise ValueError("transactionAmount is missing")
    amount = _decimal(money["amount"])
    currency = str(money.get("currency") or "").strip().upper()
    if not _CURRENCY.fullmatch(currency):
        raise ValueError(f"currency {money.get('currency')!r} is not a currency code")
    incoming = amount >= 0
    name = item.get("debtorName") if incoming else item.get("creditorName")
    party = item.get("debtorAccount") if incoming else item.get("creditorAccount")
    end_to_end = item.get("endToEndId")
    if isinstance(end_to_end, str) and end_to_end.strip().upper() == "NOTPROVIDED":
        end_to_end = None
    try:
        booked = _date(item.get("bookingDate") or item.get("bookingDateTime"))
        valued = _date(item.get("valueDate") or item.get("valueDateTime"))
    except ValueError as exc:
        raise ValueError("a date is not an ISO date") from exc
    return BankTransaction(
        status=state,
        amount=amount,
        currency=currency,
        id=item.get("transactionId") or item.get("internalTransactionId") or None,
        booking_date=booked,
        value_date=valued,
        counterparty_name=name or None,
        counterparty_iban=_party_account(party),
        remittance_information=_remittance(item),
        end_to_end_id=end_to_end or None,
        entry_reference=item.get("entryReference") or None,
        raw=item,
    )


def transactions(body: dict) -> TransactionPage:
    """A transactions answer; lines that cannot be read become ``MalformedTransaction``."""
    lists = (body or {}).get("transactions")
    if not isinstance(lists, dict):
        raise MalformedData("GoCardless answered transactions without a transactions object.")
    found: dict[str, list] = {"booked": [], "pending": []}
    malformed = []
    for state in ("booked", "pending"):
        for item in lists.get(state) or []:
            try:
                found[state].append(transaction(item, state))
            except ValueError as exc:
                raw = item if isinstance(item, dict) else {"value": item}
                malformed.append(MalformedTransaction(state, f"{exc}", raw))
    return TransactionPage(tuple(found["booked"]), tuple(found["pending"]), tuple(malformed))
