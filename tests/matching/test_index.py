"""The engine's invoice index: its look-ups answer as a scan of the invoices would."""

from __future__ import annotations

import datetime as dt

from payymo.matching.index import InvoiceIndex
from payymo.matching.names import customer_key
from tests.matching.factories import DAY, invoice


def _scan(index: InvoiceIndex, key: str, amount: int) -> list[int]:
    """A customer's invoices owing exactly ``amount``, oldest first, by reading them all."""
    return [p for p in index.by_customer[("EUR", key)] if index.remaining[p] == amount]


def test_a_pools_exact_amount_follows_what_the_run_consumes():
    later = DAY + dt.timedelta(days=10)
    index = InvoiceIndex(
        [
            invoice("inv_c", "C-1", 5_000, due=later),
            invoice("inv_a", "A-1", 5_000),
            invoice("inv_b", "B-1", 8_000),
            invoice("inv_x", "X-1", 5_000, "Other Customer GmbH"),
        ],
        tolerance=0,
    )
    key = customer_key(reference=None, name="Acme Widgets Ltd", email=None)
    position = {inv.id: p for p, inv in enumerate(index.invoices)}
    # Oldest due first, the other customer's invoice left out.
    assert index.customer_amount_matches("EUR", key, 5_000, 0) == [
        position["inv_a"],
        position["inv_c"],
    ]
    index.consume(position["inv_b"], 3_000)  # now owes 5,000 too
    index.consume(position["inv_a"], 5_000)  # paid
    found = index.customer_amount_matches("EUR", key, 5_000, 0)
    assert found == [position["inv_b"], position["inv_c"]] == _scan(index, key, 5_000)
    assert index.customer_amount_matches("EUR", key, 8_000, 0) == []
    assert index.customer_amount_matches("EUR", key, 0, 0) == [position["inv_a"]]
    assert index.customer_amount_matches("USD", key, 5_000, 0) == []
