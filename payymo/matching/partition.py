"""Split one run into independent parts by currency, for engines running side by side.

A credit is only ever matched to invoices of its own currency, so the engine over each
currency's transactions and invoices decides exactly what it decides over all of them.
Currencies are packed into at most ``parts`` groups of about equal transaction counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from payymo.matching.types import InvoiceIn, TxnIn


@dataclass(frozen=True)
class Part:
    """Some currencies' transactions (with their positions in the run) and invoices."""

    currencies: frozenset[str]
    positions: tuple[int, ...]
    transactions: tuple[TxnIn, ...]
    invoices: tuple[InvoiceIn, ...]


def by_currency(
    transactions: Sequence[TxnIn], invoices: Sequence[InvoiceIn], parts: int
) -> list[Part]:
    """At most ``parts`` non-empty parts, largest first; input order kept within each."""
    counts = Counter(t.currency for t in transactions)
    bins: list[tuple[int, set[str]]] = [(0, set()) for _ in range(max(parts, 1))]
    # Largest currency first into the lightest bin: near-even loads for a few currencies.
    for currency, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        k = min(range(len(bins)), key=lambda i: bins[i][0])
        bins[k] = (bins[k][0] + count, bins[k][1] | {currency})
    out = []
    for _, currencies in sorted(bins, key=lambda b: -b[0]):
        if not currencies:
            continue
        positions = tuple(i for i, t in enumerate(transactions) if t.currency in currencies)
        out.append(
            Part(
                currencies=frozenset(currencies),
                positions=positions,
                transactions=tuple(transactions[i] for i in positions),
                invoices=tuple(v for v in invoices if v.currency in currencies),
            )
        )
    return out
