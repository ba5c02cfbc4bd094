"""Provider transactions → transaction rows: exact amounts, checked currency, clean text."""

from __future__ import annotations

from dataclasses import dataclass

from integrations.banking import BankTransaction, MalformedTransaction, TransactionPage
from payymo import money
from payymo.money import MoneyError

_IBAN_MAX = 34
_TEXT_MAX = 255


@dataclass(frozen=True)
class Problem:
    """A line from the bank that was not imported, and why, in plain words."""

    status: str
    reason: str
    provider_id: str | None = None

    def as_dict(self) -> dict:
        """The problem as a job result shows it."""
        return {"status": self.status, "reason": self.reason, "provider_id": self.provider_id}


def _short(value: str | None, limit: int = _TEXT_MAX) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None


def _iban(value: str | None) -> str | None:
    compact = "".join((value or "").split()).upper()
    return compact if 0 < len(compact) <= _IBAN_MAX else None


def _minor(amount, code: str, places: int) -> int:
    scaled = amount.scaleb(places)
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} has more decimal places than {code} allows")
    minor = int(scaled)
    if abs(minor) >= money.MAX_MINOR_UNITS:
        raise MoneyError(f"{amount} is out of range")
    return minor


def to_row(line: BankTransaction, currency: str, places: int | None = None) -> dict:
    """The transaction row for ``line`` in an account held in ``currency``; MoneyError if unfit.

    ``places`` is the account currency's exponent (looked up when not given).
    """
    code = (line.currency or "").upper()
    if code != currency:
        if not money.is_currency(code):
            raise MoneyError(f"unknown currency {line.currency!r}")
        raise MoneyError(f"currency {code} does not match the account's {currency}")
    if places is None:
        places = money.exponent(currency)
    return {
        "id": line.id,
        "status": line.status,
        "booking_date": line.booking_date,
        "value_date": line.value_date,
        "amount": _minor(line.amount, code, places),
        "currency": code,
        "counterparty_name": _short(line.counterparty_name),
        "counterparty_iban": _iban(line.counterparty_iban),
        "remittance_information": (line.remittance_information or "").strip() or None,
        "end_to_end_id": _short(line.end_to_end_id),
        "raw": line.raw or None,
    }


def rows_from_page(page: TransactionPage, currency: str) -> tuple[list, list, list[Problem]]:
    """Booked rows, pending rows, and the problems of lines that could not be imported."""
    problems = [_malformed(item) for item in page.malformed]
    places = money.exponent(currency)  # the account's currency: every line must be in it
    out: dict[str, list] = {"booked": [], "pending": []}
    for status, lines in (("booked", page.booked), ("pending", page.pending)):
        for line in lines:
            try:
                out[status].append(to_row(line, currency, places))
            except MoneyError as exc:
                problems.append(Problem(status, f"{exc}.", line.id))
    return out["booked"], out["pending"], problems


def _malformed(item: MalformedTransaction) -> Problem:
    raw = item.raw or {}
    provider_id = raw.get("transactionId") or raw.get("internalTransactionId")
    return Problem(item.status, item.reason, provider_id if isinstance(provider_id, str) else None)
