"""Split payments: several credits from one payer that add up to one open invoice.

Instalments often carry no reference, so one alone says little about which invoice it
pays; two or three from the same payer summing exactly to a customer's open amount do.
The hints found here add ``amount_split`` evidence (never enough to auto-confirm alone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations

from rapidfuzz import fuzz, process

from payymo.matching.evidence import compact_iban
from payymo.matching.index import InvoiceIndex
from payymo.matching.names import normalize_name
from payymo.matching.types import PayerMemory, TxnIn

MAX_GROUP = 12  # a payer's credits combined at most (2 and 3 at a time)
MAX_PARTS = 3
NAME_FLOOR = 85


def _payer_keys(txn: TxnIn) -> list[tuple[str, str]]:
    keys = []
    iban = compact_iban(txn.counterparty_iban)
    if iban:
        keys.append((txn.currency, "iban:" + iban))
    name = normalize_name(txn.counterparty_name)
    if name:
        keys.append((txn.currency, "name:" + name))
    return keys


def _payer_invoices(
    index: InvoiceIndex, currency: str, name: str, known: frozenset[str]
) -> dict[int, list[int]]:
    """Open amount → invoices of the customers this payer may be (memory, similar name)."""
    keys = set(known) | index.by_name.get((currency, name), set())
    names = index.name_candidates(currency, name) if name else ()
    for other, _score, _ in process.extract(
        name, list(names), scorer=fuzz.token_set_ratio, score_cutoff=NAME_FLOOR, limit=None
    ):
        keys |= index.by_name.get((currency, other), set())
    out: dict[int, list[int]] = defaultdict(list)
    for key in sorted(keys):
        for p in index.by_customer.get((currency, key), ()):
            out[index.remaining[p]].append(p)
    return out


def split_hints(
    transactions: Sequence[TxnIn], index: InvoiceIndex, memory: PayerMemory
) -> dict[str, frozenset[int]]:
    """Transaction id → invoice positions it pays together with other credits of its payer."""
    groups: dict[tuple[str, str], list[TxnIn]] = defaultdict(list)
    for txn in transactions:
        for key in _payer_keys(txn):
            groups[key].append(txn)
    hints: dict[str, set[int]] = defaultdict(set)
    for (currency, _), members in sorted(groups.items()):
        if not 2 <= len(members) <= MAX_GROUP:
            continue
        combos = [
            (sum(t.amount for t in combo), combo)
            for size in range(2, MAX_PARTS + 1)
            for combo in combinations(members, size)
        ]
        if not any((currency, total) in index.by_amount for total, _ in combos):
            continue  # no open invoice owes any of these sums: skip the name look-up
        first = members[0]
        known = memory.by_iban.get(compact_iban(first.counterparty_iban), frozenset())
        owed = _payer_invoices(index, currency, normalize_name(first.counterparty_name), known)
        for total, combo in combos:
            for p in owed.get(total, ()):
                for t in combo:
                    hints[t.id].add(p)
    return {k: frozenset(v) for k, v in hints.items()}
