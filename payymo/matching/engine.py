"""reconcile(): decide, for each credit, an automatic match or ranked suggestions.

Indexes are built once per call; each transaction looks up only the invoices its
evidence points at. Transactions are taken oldest booking date first (then id), and an
automatic match consumes the invoices' open amounts before the next transaction, so
one call never allocates an invoice twice.

Evidence is gathered strongest first, in three stages: invoices the remittance names;
customers a customer reference or a known payer IBAN points at (and split instalments);
then payer names and amounts alone. After each stage the engine stops when nothing a
later stage could find may change the decision (``later_bounds``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence

from payymo.matching.amounts import allocate
from payymo.matching.calibration import AUTO, calibrated
from payymo.matching.candidates import Finder
from payymo.matching.context import TxnContext, explain
from payymo.matching.evidence import TokenReader, indexed_context
from payymo.matching.index import InvoiceIndex
from payymo.matching.scoring import (
    CHARGE_CODE,
    CUSTOMER_REF,
    IBAN_KNOWN,
    MAX_WEAK,
    NEAR_CODE,
    REF_NEAR,
    REF_SOME,
    confidence,
    is_strong,
    score,
)
from payymo.matching.splits import split_hints
from payymo.matching.types import (
    Candidate,
    Decision,
    Horizon,
    InvoiceIn,
    MatchSettings,
    PayerMemory,
    Reason,
    TxnIn,
)

MIN_SUGGESTION = 30  # points below this are noise, not worth a person's time
_EPS = 1e-9

Scored = tuple[int, tuple[int, str], tuple[tuple[int, int], ...], tuple[Reason, ...]]


def processing_order(transactions: Sequence[TxnIn]) -> list[int]:
    """Positions of the transactions, oldest booking date first, then id."""
    far = dt.date.max
    return sorted(
        range(len(transactions)),
        key=lambda i: (transactions[i].booking_date or far, transactions[i].id),
    )


def blocked_by_transaction(blocked: frozenset[tuple[str, str]]) -> dict[str, frozenset[str]]:
    """The blocked invoice ids of each transaction."""
    out: dict[str, set[str]] = defaultdict(set)
    for txn_id, invoice_id in blocked:
        out[txn_id].add(invoice_id)
    return {k: frozenset(v) for k, v in out.items()}


def score_sets(
    index: InvoiceIndex, txn: TxnIn, ctx: TxnContext, sets: Sequence[tuple[int, ...]], seen: dict
) -> None:
    """Score each not yet seen invoice set into ``seen`` (allocation → scored candidate)."""
    order, remaining, amount = index.order, index.remaining, txn.amount
    invoices, keys, names = index.invoices, index.keys, index.names
    dates, plains, cores = index.dates, index.plains, index.cores
    for positions in sets:
        if len(positions) == 1:  # most sets: no sorting, no spreading, one-item lists
            p = positions[0]
            left = remaining[p]
            if amount <= 0 or left <= 0:
                continue
            allocation: tuple[tuple[int, int], ...] = ((p, min(amount, left)),)
            if allocation in seen:
                continue
            points, reasons = score(
                ctx, [invoices[p]], positions, [left], [keys[p]], [names[p]], [dates[p]],
                [plains[p]], [cores[p]],
            )  # fmt: skip
            seen[allocation] = (points, order[p], allocation, reasons)
            continue
        ordered = sorted(set(positions), key=order.__getitem__)
        allocation = allocate(amount, [(p, remaining[p]) for p in ordered])
        if not allocation or allocation in seen:
            continue
        used = tuple(p for p, _ in allocation)
        points, reasons = score(
            ctx,
            [invoices[p] for p in used],
            used,
            [remaining[p] for p in used],
            [keys[p] for p in used],
            [names[p] for p in used],
            [dates[p] for p in used],
            [plains[p] for p in used],
            [cores[p] for p in used],
        )
        seen[allocation] = (points, order[used[0]], allocation, reasons)


def ranked(seen: dict) -> list[Scored]:
    """Candidates best first; ties go to the oldest invoice, then ids."""
    return sorted(seen.values(), key=lambda c: (-c[0], c[1], c[2]))


def _auto_ok(
    index: InvoiceIndex, best: Scored, runner_points: int, txn: TxnIn, settings: MatchSettings
) -> bool:
    return (
        settings.auto_match_enabled
        and txn.booked
        # a one-character slip is never what tips a credit into an automatic match
        and confidence(best[0] - _near_points(best[3])) >= settings.threshold - _EPS
        # on raw points: evidence both share (say a known IBAN) can push both past 100
        and (best[0] - max(runner_points, 0)) / 100 >= settings.margin - _EPS
        and is_strong(best[3])
        and not _rest_owed(index, best[2], txn, settings)
    )


def _near_points(reasons) -> int:
    return REF_NEAR if any(r[0] == NEAR_CODE for r in reasons) else 0


def _rest_owed(index: InvoiceIndex, allocation, txn: TxnIn, settings: MatchSettings) -> bool:
    """The overpaid rest is exactly what another open invoice of these customers owes.

    Then the credit likely pays that invoice too (its number unread, say "2021" taken for
    a year): a person should look, rather than the rest being left unallocated.
    """
    rest = txn.amount - sum(amount for _, amount in allocation)
    if rest <= settings.overpayment_tolerance:
        return False
    used = {p for p, _ in allocation}
    for key in {index.keys[p] for p in used}:
        for q in index.customer_amount_matches(txn.currency, key, rest, 0):
            if q not in used:
                return True
    return False


def charges(index: InvoiceIndex, scored: Scored, settings: MatchSettings) -> tuple:
    """(position, charge) written off: a likely bank charge within the charge tolerance."""
    allocation, reasons = scored[2], scored[3]
    if settings.charge_tolerance <= 0 or len(allocation) != 1:
        return ()
    if not any(r[0] == CHARGE_CODE for r in reasons):
        return ()
    p, amount = allocation[0]
    short = index.remaining[p] - amount
    return ((p, short),) if 0 < short <= settings.charge_tolerance else ()


def _candidate(
    index: InvoiceIndex,
    txn: TxnIn,
    scored: Scored,
    settings: MatchSettings,
    group: str,
    ceiling: float = 1.0,
) -> Candidate:
    points, _, allocation, reasons = scored
    ids = index.invoices
    return Candidate(
        transaction_id=txn.id,
        allocations=tuple((ids[p].id, amount) for p, amount in allocation),
        # A lower-ranked suggestion never reads as likelier than the one above it.
        confidence=min(calibrated(points, group), ceiling),
        reasons=explain(reasons),
        score=confidence(points),
        charges=tuple((ids[p].id, c) for p, c in charges(index, scored, settings)),
    )


def decide(
    index: InvoiceIndex, txn: TxnIn, cands: list[Scored], settings: MatchSettings
) -> Decision:
    """Auto-confirm the best candidate when the rules allow, else suggest the best few."""
    if cands:
        runner = cands[1][0] if len(cands) > 1 else 0
        if _auto_ok(index, cands[0], runner, txn, settings):
            best = cands[0]
            auto = _candidate(index, txn, best, settings, AUTO)
            if txn.booked:
                written_off = dict(charges(index, best, settings))
                for p, amount in best[2]:
                    index.consume(p, amount + written_off.get(p, 0))
            return Decision(txn.id, auto, ())
    suggestions: list[Candidate] = []
    for c in cands[: settings.max_suggestions]:
        if c[0] < MIN_SUGGESTION:
            break  # ranked: the rest score lower still
        ceiling = suggestions[-1].confidence if suggestions else 1.0
        rank = str(len(suggestions) + 1)
        suggestions.append(_candidate(index, txn, c, settings, rank, ceiling))
    return Decision(txn.id, None, tuple(suggestions))


def reconcile(
    transactions: Sequence[TxnIn],
    invoices: Sequence[InvoiceIn],
    *,
    settings: MatchSettings,
    memory: PayerMemory,
    blocked: frozenset[tuple[str, str]] = frozenset(),
    horizon: Horizon | None = None,
) -> list[Decision]:
    """One Decision per transaction (in the order given), from indexed candidates only."""
    decisions: list[Decision | None] = [None] * len(transactions)
    stream = iter_decisions(
        transactions,
        invoices,
        settings=settings,
        memory=memory,
        blocked=blocked,
        horizon=horizon,
    )
    for i, decision in stream:
        decisions[i] = decision
    return [d for d in decisions if d is not None]


def iter_decisions(
    transactions: Sequence[TxnIn],
    invoices: Sequence[InvoiceIn],
    *,
    settings: MatchSettings,
    memory: PayerMemory,
    blocked: frozenset[tuple[str, str]] = frozenset(),
    horizon: Horizon | None = None,
) -> Iterator[tuple[int, Decision]]:
    """(position in ``transactions``, Decision) as each is made, in processing order.

    An automatic match is final when yielded (it has consumed its invoices); a
    suggestion may name an invoice that a later automatic match pays. ``horizon`` is
    what a partial load (an incremental run) knows of the rest of the tenant.
    """
    index = InvoiceIndex(invoices, settings.overpayment_tolerance, horizon)
    finder = Finder(index, settings)
    reader = TokenReader(settings)
    blocks = blocked_by_transaction(blocked)
    splits = split_hints(transactions, index, memory)
    for i in processing_order(transactions):
        txn = transactions[i]
        no = blocks.get(txn.id, frozenset())
        ctx = indexed_context(index, reader, txn, settings, memory, no)
        ctx.split = splits.get(txn.id, frozenset())
        seen: dict = {}
        cands: list[Scored] = []
        stages = (finder.referenced, finder.customers, finder.weak)
        for stage, bound in zip(stages, later_bounds(ctx), strict=True):
            score_sets(index, txn, ctx, stage(txn, ctx, no), seen)
            cands = ranked(seen)
            if _settled(index, cands, bound, txn, settings):
                break
        yield i, decide(index, txn, cands, settings)


def later_bounds(ctx: TxnContext) -> tuple[int, int, int]:
    """After each stage, the most points a set found only by a later stage can score."""
    # a one-character slip may add to any single invoice found later
    weak = MAX_WEAK + (REF_SOME if ctx.refs else 0) + (REF_NEAR if ctx.near_tokens else 0)
    customers = (
        weak + CUSTOMER_REF * bool(ctx.customer_refs) + IBAN_KNOWN * bool(ctx.iban_customers)
    )
    return customers, weak, -(10**9)


def _settled(
    index: InvoiceIndex, cands: list[Scored], bound: int, txn: TxnIn, settings: MatchSettings
) -> bool:
    """True when later stages can no longer change the decision (early stop)."""
    if not cands:
        return False
    runner = cands[1][0] if len(cands) > 1 else 0
    if _auto_ok(index, cands[0], max(runner, bound), txn, settings):
        return True
    k = settings.max_suggestions
    return len(cands) >= k and cands[k - 1][0] > bound
