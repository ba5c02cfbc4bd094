"""A transaction's resolved evidence, and reasons kept unformatted until shown."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from typing import NamedTuple

from payymo.matching.types import Reason
from payymo.money import MoneyError, to_display


@dataclass(slots=True)
class TxnContext:
    """What one transaction says, resolved against the invoices once."""

    amount: int
    currency: str
    booking_date: dt.date | None
    payer: str  # normalised payer name
    payer_plain: str  # payer name with its legal form, letters and digits only
    tolerance: int
    window: int
    refs: dict[int, tuple[str, str]] = field(default_factory=dict)  # inv -> (kind, token)
    customer_refs: dict[str, str] = field(default_factory=dict)  # customer key -> token
    iban_customers: frozenset[str] = frozenset()
    name_customers: frozenset[str] = frozenset()
    similarity: dict[str, float] = field(default_factory=dict)  # customer key -> 0..100
    split: frozenset[int] = frozenset()  # invoices it pays with other credits of the payer
    payer_customers: frozenset[str] = frozenset()  # customers named exactly like the payer
    oldest: set[frozenset[int]] = field(default_factory=set)  # a customer's oldest 2..4
    near_tokens: tuple[tuple[str, str], ...] = ()  # (core, as written) a slip may hide in
    rival: bool = False  # a customer named like the payer owes exactly this amount
    day: int | None = None  # booking date as an ordinal
    charge_tolerance: int = 0  # a likely bank charge up to this is written off


class Money(NamedTuple):
    """An amount in a reason, formatted only when the reason is shown."""

    minor: int
    currency: str

    def __str__(self) -> str:
        try:
            return f"{to_display(self.minor, self.currency)} {self.currency}"
        except MoneyError:
            return f"{self.minor} minor units of {self.currency}"


Spec = tuple  # (code, template, args): a reason not yet formatted (most are never shown)


def explain(specs: tuple[Spec, ...]) -> tuple[Reason, ...]:
    """Turn raw reason specs into Reasons with their sentences."""
    return tuple(map(_reason, specs))


@functools.lru_cache(maxsize=4096)  # most specs repeat ("amount equals the open amount")
def _reason(spec: Spec) -> Reason:
    code, template, args = spec
    return Reason(code, template.format(*args))
