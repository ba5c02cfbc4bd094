"""The naive baseline: every transaction scored against every invoice, no look-up indexes.

Same evidence, same scoring, same decision rules and the same processing order as
``engine.reconcile``; only candidate finding differs (a full scan of every invoice for
every transaction instead of index look-ups, bounded pools and early stopping). The
benchmark measures the engine against it.
"""

from __future__ import annotations

from collections.abc import Sequence

from payymo.matching import amounts
from payymo.matching.candidates import reference_sets, remember_oldest
from payymo.matching.engine import (
    blocked_by_transaction,
    decide,
    processing_order,
    ranked,
    score_sets,
)
from payymo.matching.evidence import (
    TokenReader,
    new_context,
    partial_reading,
    resolve_hits,
    usable,
)
from payymo.matching.index import MIN_CORE_DIGITS, InvoiceIndex
from payymo.matching.names import similarity_normalized
from payymo.matching.references import (
    core_is_specific,
    near_tokens,
    normalize_reference,
    reference_core,
)
from payymo.matching.splits import split_hints
from payymo.matching.types import Decision, InvoiceIn, MatchSettings, PayerMemory, TxnIn

NAME_CUTOFF = 75


def _invoice_refs(inv: InvoiceIn) -> tuple[str, str, str]:
    full = normalize_reference(inv.number or "")
    core = reference_core(inv.number or "")
    if core == full or not core_is_specific(core, MIN_CORE_DIGITS):
        core = ""
    return full, core, normalize_reference(inv.customer_reference or "")


def naive_reconcile(
    transactions: Sequence[TxnIn],
    invoices: Sequence[InvoiceIn],
    *,
    settings: MatchSettings,
    memory: PayerMemory,
    blocked: frozenset[tuple[str, str]] = frozenset(),
) -> list[Decision]:
    """Like ``reconcile`` but comparing every transaction with every invoice."""
    # InvoiceIndex serves only as the store of open amounts, customer keys and names here.
    store = InvoiceIndex(invoices, settings.overpayment_tolerance)
    refs = [_invoice_refs(inv) for inv in invoices]
    reader = TokenReader(settings)
    blocks = blocked_by_transaction(blocked)
    splits = split_hints(transactions, store, memory)  # the same cross-credit pre-pass
    decisions: list[Decision | None] = [None] * len(transactions)
    for t in processing_order(transactions):
        txn = transactions[t]
        no = blocks.get(txn.id, frozenset())
        ctx = new_context(txn, settings, memory)
        ctx.split = splits.get(txn.id, frozenset())
        tokens = reader.tokens(txn.remittance or "")
        ctx.near_tokens = near_tokens(tokens)
        exact, partial, by_key, evidence, named = [], [], {}, set(), set()
        for p, inv in enumerate(invoices):
            if inv.currency != txn.currency:
                continue
            full, core, customer = refs[p]
            key = store.keys[p]
            for t_full, t_core, start, end in tokens:
                if full and full in (t_full, t_core):
                    exact.append((p, t_full, start, end))
                elif core and core == t_core and partial_reading(t_full, t_core):
                    partial.append((p, t_core, start, end))
                if customer and customer == t_full:
                    ctx.customer_refs.setdefault(key, customer)
            if store.remaining[p] <= 0 or inv.id in no:
                continue
            by_key.setdefault(key, []).append(p)
            if ctx.payer and store.names[p] == ctx.payer:
                named.add(key)
            sim = similarity_normalized(ctx.payer, store.names[p]) if ctx.payer else 0.0
            ctx.similarity[key] = sim
            if sim >= NAME_CUTOFF or key in ctx.iban_customers or key in ctx.name_customers:
                evidence.add(key)
        ctx.refs = usable(store, resolve_hits(exact, partial), no)
        ctx.payer_customers = frozenset(named)
        ctx.rival = any(
            store.remaining[p] == txn.amount for key in named for p in by_key.get(key, [])
        )
        evidence |= set(ctx.customer_refs) | {store.keys[p] for p in ctx.refs}
        ordered = sorted(ctx.refs, key=store.order.__getitem__)
        opens = [store.remaining[p] for p in ordered]
        sets = reference_sets(ctx, ordered, [store.keys[p] for p in ordered], opens, txn.amount)
        for key in sorted(evidence):
            pool = sorted(by_key.get(key, []), key=store.order.__getitem__)
            pool = pool[: amounts.MAX_SUBSET_POOL]
            remember_oldest(ctx, pool, [store.remaining[p] for p in pool])
            opens = [(p, store.remaining[p]) for p in pool]
            sets += amounts.subset_sums(txn.amount, opens)
        sets += [(p,) for pool in by_key.values() for p in pool]
        seen: dict = {}
        score_sets(store, txn, ctx, sets, seen)
        decisions[t] = decide(store, txn, ranked(seen), settings)
    return [d for d in decisions if d is not None]
