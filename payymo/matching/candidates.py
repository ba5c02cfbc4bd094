"""Candidate invoice sets for one transaction, from the indexes, strongest evidence first."""

from __future__ import annotations

from collections.abc import Iterable

from rapidfuzz import process

from payymo.matching import amounts
from payymo.matching.context import TxnContext
from payymo.matching.index import InvoiceIndex
from payymo.matching.names import similarity_normalized
from payymo.matching.types import MatchSettings, TxnIn

MAX_CUSTOMERS = 5  # customers considered per source (memory, names)
MAX_AMOUNT_ONLY = 20  # invoices found by amount alone, oldest first
NAME_CUTOFF = 75


def reference_sets(
    ctx: TxnContext, refs: list[int], keys: list[str], opens: list[int], amount: int
) -> list[tuple[int, ...]]:
    """Named invoices alone, all together, and exact-sum combinations within one customer.

    ``refs`` are oldest first; ``keys``/``opens`` give each one's customer and open amount.
    """
    out: list[tuple[int, ...]] = [(p,) for p in refs]
    groups: dict[str, list[tuple[int, int]]] = {}
    for p, key, open_amount in zip(refs, keys, opens, strict=True):
        groups.setdefault(key, []).append((p, open_amount))
    for group in groups.values():
        out += amounts.subset_sums(amount, group)
    named = all(ctx.refs[p][0] == "exact" for p in refs)
    if len(refs) > 1 and (len(groups) == 1 or named):
        out.append(tuple(refs))
    return out


class Finder:
    """Proposes invoice sets (positions in the index) for a transaction's context."""

    def __init__(self, index: InvoiceIndex, settings: MatchSettings) -> None:
        self.index = index
        self.settings = settings
        self._similar: dict[tuple[str, str], list[str]] = {}  # payers repeat across credits

    def _open(self, positions: Iterable[int], blocked: frozenset[str]) -> list[int]:
        idx = self.index
        return [p for p in positions if idx.remaining[p] > 0 and idx.invoices[p].id not in blocked]

    def _pool_sets(self, ctx: TxnContext, pool: list[int], amount: int) -> list[tuple[int, ...]]:
        """A customer's invoices alone, plus combinations whose open amounts add up exactly."""
        opens = [self.index.remaining[p] for p in pool]
        remember_oldest(ctx, pool, opens)
        return [(p,) for p in pool] + amounts.subset_sums(
            amount, list(zip(pool, opens, strict=True))
        )

    def _customer_sets(
        self, txn: TxnIn, ctx: TxnContext, keys: Iterable[str], blocked: frozenset[str]
    ) -> list[tuple[int, ...]]:
        out: list[tuple[int, ...]] = []
        for key in list(keys)[:MAX_CUSTOMERS]:
            pool = self._open(
                self.index.customer_invoices(txn.currency, key, amounts.MAX_SUBSET_POOL + 4),
                blocked,
            )
            out += self._pool_sets(ctx, pool[: amounts.MAX_SUBSET_POOL], txn.amount)
        return out

    def referenced(self, txn: TxnIn, ctx: TxnContext, blocked: frozenset[str]):
        """Sets of invoices the remittance names."""
        idx = self.index
        refs = sorted(ctx.refs, key=idx.order.__getitem__)
        keys, opens = [idx.keys[p] for p in refs], [idx.remaining[p] for p in refs]
        return reference_sets(ctx, refs, keys, opens, txn.amount)

    def customers(self, txn: TxnIn, ctx: TxnContext, blocked: frozenset[str]):
        """Sets of customers a customer reference or a known payer IBAN points at."""
        idx, tol = self.index, self.settings.overpayment_tolerance
        keys = set(ctx.customer_refs) | set(ctx.iban_customers)
        if ctx.refs and not any(
            txn.amount - tol <= idx.remaining[p] <= txn.amount for p in ctx.refs
        ):  # the payment may cover named and unnamed invoices of the customer
            keys |= {idx.keys[p] for p in ctx.refs}
        ordered = sorted(keys)[:MAX_CUSTOMERS]
        out = self._customer_sets(txn, ctx, ordered, blocked)
        out += [(p,) for p in self._open(sorted(ctx.split), blocked)]  # instalments
        for key in ordered:  # older than the pool, but owing this amount
            found = idx.customer_amount_matches(txn.currency, key, txn.amount, tol)
            out += [(p,) for p in self._open(found, blocked)]
        for key in sorted(ctx.customer_refs)[:MAX_CUSTOMERS]:  # named, less a bank charge
            found = idx.customer_charge_matches(txn.currency, key, txn.amount)
            out += [(p,) for p in self._open(found, blocked)]
        return out

    def weak(self, txn: TxnIn, ctx: TxnContext, blocked: frozenset[str]) -> list[tuple[int, ...]]:
        """Sets found by payer name (learned, equal or similar) and by amount alone."""
        idx, cur = self.index, txn.currency
        keys = list(ctx.name_customers)
        if ctx.payer:
            if ctx.payer_customers:
                keys += sorted(ctx.payer_customers)
            else:
                keys += self._similar_customers(cur, ctx.payer)
        out = self._customer_sets(txn, ctx, dict.fromkeys(keys), blocked)
        found = idx.amount_matches(cur, txn.amount, self.settings.overpayment_tolerance)
        near = sorted(self._open(found, blocked), key=idx.order.__getitem__)[:MAX_AMOUNT_ONLY]
        out += [(p,) for p in near]
        return out

    def _similar_customers(self, currency: str, payer: str) -> list[str]:
        # names never change during a run, so one look-up per distinct payer is enough
        found = self._similar.get((currency, payer))
        if found is None:
            found = self._similar[(currency, payer)] = self._find_similar(currency, payer)
        return found

    def _find_similar(self, currency: str, payer: str) -> list[str]:
        names = self.index.name_candidates(currency, payer)
        if not names:
            return []
        best = process.extract(
            payer,
            sorted(names),
            scorer=similarity_normalized,  # the scoring's own measure, initials included
            score_cutoff=NAME_CUTOFF,
            limit=MAX_CUSTOMERS,
        )
        keys: list[str] = []
        for name, _score, _ in best:
            keys += sorted(self.index.by_name[(currency, name)])
        return keys


def remember_oldest(ctx: TxnContext, pool: list[int], opens: list[int]) -> None:
    """Note a customer's oldest 2..4 open invoices (paying those together is common).

    Not when a later invoice of the pool owes the same as one of them (``opens`` are the
    pool's open amounts): swapping it in gives the same sum, so the amount alone cannot
    tell which of the two is paid.
    """
    for k in range(2, min(len(pool), amounts.MAX_SUBSET_SIZE) + 1):
        if not set(opens[:k]).intersection(opens[k:]):
            ctx.oldest.add(frozenset(pool[:k]))
