"""Split payments: several credits from one payer that add up to one open invoice.

Instalments often carry no reference, so one alone says little about which invoice it
pays; two or three from the same payer summing exactly to a customer's open amount do.
A credit equal to one of those customers' open amounts is taken to pay that invoice and
is never counted as a part.
The hints found here add ``amount_split`` evidence (never enough to auto-confirm alone).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import combinations

from rapidfuzz import fuzz, process

from payymo.matching.evidence import compact_iban
from payymo.matching.index import InvoiceIndex
from payymo.matching.keys import payer_group_keys
from payymo.matching.names import normalize_name
from payymo.matching.types import PayerMemory, TxnIn

MAX_GROUP = 12  # a payer's credits combined at most (2 and 3 at a time)
MAX_PARTS = 3  # _combos builds pairs and triples
NAME_FLOOR = 85


def _payer_customers(
    index: InvoiceIndex, currency: str, name: str, known: frozenset[str]
) -> list[str]:
    """The customers this payer may be (memory, same or similar name), sorted."""
    keys = set(known) | index.by_name.get((currency, name), set())
    names = index.name_candidates(currency, name) if name else ()
    for other, _score, _ in process.extract(
        name, list(names), scorer=fuzz.token_set_ratio, score_cutoff=NAME_FLOOR, limit=None
    ):
        keys |= index.by_name.get((currency, other), set())
    return sorted(keys)


def _owed(
    index: InvoiceIndex, cache: dict, currency: str, keys: list[str], amounts: set[int]
) -> dict[int, list[int]]:
    """Open amount → invoices of these customers, for the given amounts only.

    ``cache`` keeps each customer's amount → invoices map (built once per run).
    """
    out: dict[int, list[int]] = defaultdict(list)
    for key in keys:
        owed = cache.get((currency, key))
        if owed is None:
            owed = cache[(currency, key)] = defaultdict(list)
            for p in index.by_customer.get((currency, key), ()):
                owed[index.remaining[p]].append(p)
        if len(owed) < len(amounts):
            for amount, positions in owed.items():
                if amount in amounts:
                    out[amount] += positions
        else:
            for amount in amounts:
                if amount in owed:
                    out[amount] += owed[amount]
    return out


def _combos(members: list[TxnIn]) -> list[tuple[int, tuple[int, ...]]]:
    """(total, positions in ``members``) for every 2..MAX_PARTS credits of a payer."""
    amounts = [t.amount for t in members]
    pairs = [(amounts[i] + amounts[j], (i, j)) for i, j in combinations(range(len(amounts)), 2)]
    triples = [
        (amounts[i] + amounts[j] + amounts[k], (i, j, k))
        for i, j, k in combinations(range(len(amounts)), 3)
    ]
    return pairs + triples


def split_hints(
    transactions: Sequence[TxnIn], index: InvoiceIndex, memory: PayerMemory
) -> dict[str, frozenset[int]]:
    """Transaction id → invoice positions it pays together with other credits of its payer."""
    groups: dict[tuple[str, str], list[TxnIn]] = defaultdict(list)
    crowded = index.horizon.crowded_payers  # groups too large, seen whole or not
    for txn in transactions:
        for key in payer_group_keys(txn):
            if key not in crowded:
                groups[key].append(txn)
    hints: dict[str, set[int]] = defaultdict(set)
    customers: dict[tuple, list[str]] = {}  # a payer's IBAN and name groups share them
    per_customer: dict[tuple[str, str], dict[int, list[int]]] = {}
    done: set[tuple[str, ...]] = set()
    for (currency, _), members in sorted(groups.items()):
        if not 2 <= len(members) <= MAX_GROUP:
            continue
        ids = tuple(t.id for t in members)
        if ids in done:
            continue  # the payer's IBAN and name group the same credits: same hints
        done.add(ids)
        combos = _combos(members)
        if not any((currency, total) in index.by_amount for total, _ in combos):
            continue  # no open invoice owes any of these sums: skip the name look-up
        first = members[0]
        known = memory.by_iban.get(compact_iban(first.counterparty_iban), frozenset())
        name = normalize_name(first.counterparty_name)
        keys = customers.get((currency, name, known))
        if keys is None:
            keys = customers[(currency, name, known)] = _payer_customers(
                index, currency, name, known
            )
        wanted = {total for total, _ in combos} | {t.amount for t in members}
        owed = _owed(index, per_customer, currency, keys, wanted)
        # a credit paying exactly what one of these invoices owes pays that one, not a share
        whole = [t.amount in owed for t in members]
        for total, combo in combos:
            if any(whole[i] for i in combo):
                continue
            for p in owed.get(total, ()):
                for i in combo:
                    hints[members[i].id].add(p)
    return {k: frozenset(v) for k, v in hints.items()}
