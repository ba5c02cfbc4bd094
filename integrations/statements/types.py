"""Plain values a statement file is read into; amounts are signed Decimals, never floats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass(frozen=True)
class StatementLine:
    """One entry of the file; ``error`` says why it could not be read (the rest still counts)."""

    index: int
    where: str
    line_id: str | None
    booking_date: date | None
    value_date: date | None
    amount: Decimal | None
    currency: str | None
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str | None
    end_to_end_id: str | None
    status: str
    error: str | None = None


@dataclass(frozen=True)
class Balance:
    """A signed balance as the file states it."""

    amount: Decimal
    currency: str
    date: date | None


@dataclass(frozen=True)
class Statement:
    """A whole file: account, balances and entries in file order."""

    format: str
    currency: str | None
    account_iban: str | None
    opening_balance: Balance | None
    closing_balance: Balance | None
    lines: Sequence[StatementLine]
