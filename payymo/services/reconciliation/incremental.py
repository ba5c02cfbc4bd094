"""An incremental run's input: the credits its changes reach, and what they can reach.

1. Bring the look-up tables up to date from the change log (``lookup_tables.refresh``).
2. The credits the changes reach (``scope.affected``), with their payer groups.
3. The engine decides them here, without writing: a credit it matches automatically
   consumes invoices, and every credit that can reach a consumed invoice must be
   decided in the same pass (a full run would see that invoice change before deciding
   it). Those are added and the pass repeated until none is missing; the last pass's
   decisions are the run's (``RunInput.decided``: the writer replays them).

Keeping the engine pure, only what it is handed changes: the credits to decide, every
invoice it could look at for them, and what it must know of the rest (``Horizon``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy import text
from sqlalchemy.orm import Session

from payymo import collector
from payymo.matching.engine import processing_order, reconcile
from payymo.matching.types import Decision, Horizon, InvoiceIn, MatchSettings, PayerMemory, TxnIn
from payymo.models.reconcile_index import INVOICE
from payymo.services.reconciliation import lookup_tables, scope
from payymo.services.reconciliation.changes import Changes
from payymo.services.reconciliation.load import (
    CREDIT_LINE_STATUSES,
    OPEN_MATCH_STATUSES,
    RunInput,
    blocked_pairs,
    computing_between_statements,
    match_settings,
    open_credits,
    open_invoices,
    stripe_accounts,
    with_open_suggestions,
)
from payymo.services.reconciliation.payer_memory import load as load_memory
from payymo.services.rollups import read as rollups

# A run deciding at least this share of the open credits (and at least MIN_FULL) reads
# them all instead: one streamed pass beats look-ups, and engine processes can share it.
FULL_SHARE = 0.25
MIN_FULL = 1_000
MAX_PASSES = 4  # automatic matches reaching still more credits after this: a full run


def affected_credits(session: Session, *, changes: Changes, settings: MatchSettings):
    """Refresh the look-up tables from ``changes``; the credits they reach (not committed).

    What the last run's own writes changed (``changes.decided_…``) reaches nothing new:
    that run decided, in the pass that wrote them, every credit its matches could reach
    (and named those to decide again, ``RunInput.again``). Their look-up rows are
    brought up to date; they count only where they may have moved a name word across
    ``MAX_WORD_POSTINGS``, or where a credit left the open ones or was matched in part:
    the rest of its payer group is decided again (what it can be split with changed),
    and the credit itself for what is left of it, as a full run would.
    """
    refreshed = lookup_tables.refresh(
        session,
        transaction_ids=changes.transactions,
        invoice_ids=changes.invoices,
        settings=settings,
    )
    own = lookup_tables.refresh(
        session,
        transaction_ids=changes.decided_transactions,
        invoice_ids=changes.decided_invoices,
        settings=settings,
    )
    refreshed.crossed_words |= own.crossed_words
    refreshed.credits |= own.resized
    refreshed.groups.update(own.moved_groups)
    credits = scope.affected(
        session,
        refreshed=refreshed,
        payers=changes.payers,
        tolerance=settings.overpayment_tolerance,
    )
    return credits, refreshed.groups


class _Loaded:
    """What a run has read for the credits it decides, growing pass by pass."""

    def __init__(self, session: Session, reach: scope.Reach) -> None:
        self.session = session
        self.reach = reach
        self.credits: dict[str, TxnIn | None] = {}  # None: asked for, no longer open
        self.untouched: set[str] = set()
        self.invoices: dict[str, InvoiceIn] = {}
        self.blocked: set[tuple[str, str]] = set()
        self.with_suggestions: set[str] = set()

    def add(self, credit_ids: set[str]) -> None:
        """Read the credits not read yet, and every invoice they can now reach."""
        session = self.session
        fresh = credit_ids - self.credits.keys()
        credits, untouched = open_credits(session, fresh)
        self.credits.update((t.id, t) for t in credits)
        self.credits.update((i, None) for i in fresh - {t.id for t in credits})
        self.untouched |= untouched
        direct, customers = self.reach.add(credits)
        # The pools' ids first, then every invoice by id: probed in id order, 100,000
        # invoices of 260 pools at 10M lines took half the time of one joined statement.
        pools = scope.with_keys(session, INVOICE, {f"k:{cur}:{c}" for cur, c in customers})
        wanted = (pools | direct) - self.invoices.keys()
        self.invoices.update((inv.id, inv) for inv in open_invoices(session, wanted))
        ids = [t.id for t in credits]
        self.blocked |= blocked_pairs(session, ids)
        self.with_suggestions |= with_open_suggestions(session, ids)

    def run_input(
        self, settings: MatchSettings, memory: PayerMemory, crowded_payers: frozenset
    ) -> RunInput:
        """The engine's input for every credit read so far."""
        with_suggestions = frozenset(self.with_suggestions)
        return RunInput(
            transactions=sorted(filter(None, self.credits.values()), key=lambda t: t.id),
            invoices=sorted(self.invoices.values(), key=lambda inv: inv.id),
            settings=settings,
            memory=memory,
            blocked=frozenset(self.blocked),
            with_suggestions=with_suggestions,
            settled=frozenset(self.untouched) - with_suggestions,
            horizon=Horizon(
                common_words=frozenset(self.reach.common),
                crowded_amounts=self.reach.crowded_amounts,
                crowded_payers=crowded_payers,
            ),
        )


def _decide(data: RunInput) -> RunInput:
    """``data`` with the engine's decisions (made here, on this thread)."""
    decisions = reconcile(
        data.transactions,
        data.invoices,
        settings=data.settings,
        memory=data.memory,
        blocked=data.blocked,
        horizon=data.horizon,
    )
    return replace(data, decided=tuple(decisions))


def _consumed(
    invoices: Sequence[InvoiceIn], decisions: Sequence[Decision]
) -> tuple[set[str], set[tuple[str, int]]]:
    """The invoices the decisions' automatic matches consume, and every amount they owe."""
    left = {inv.id: (inv.currency, inv.open_amount) for inv in invoices}
    owed: dict[str, list[int]] = defaultdict(list)
    for decision in decisions:
        auto = decision.auto
        for invoice_id, amount in auto.allocations if auto else ():
            currency, remaining = left[invoice_id]
            remaining -= amount + auto.charge_for(invoice_id)
            left[invoice_id] = (currency, remaining)
            owed[invoice_id].append(remaining)
    amounts = {(left[i][0], value) for i, values in owed.items() for value in values}
    return set(owed), amounts


def _decided_too_early(
    transactions: Sequence[TxnIn],
    decisions: Sequence[Decision],
    reaching: set[str],
    customers: dict[str, set[tuple[str, str]]],
    customer_of: dict[str, tuple[str, str]],
) -> frozenset[str]:
    """Of the credits reaching an invoice the pass's automatic matches consumed, those
    the engine decided before that match (it decides oldest first): what they saw of
    the invoice is not what a full run will see.

    A credit reaches an invoice through its customer (``customers``: those of every
    invoice it reaches; ``customer_of``: each consumed invoice's, as the look-up tables
    hold both); one reaching a consumed invoice by other means (an amount, say) counts
    when decided before the pass's last automatic match.
    """
    order = {transactions[i].id: n for n, i in enumerate(processing_order(transactions))}
    consumed_at: dict[tuple[str, str], int] = {}  # customer → its last consumer's turn
    autos = {d.transaction_id for d in decisions if d.auto is not None}
    last = max((order[txn_id] for txn_id in autos), default=-1)
    for decision in decisions:
        turn = order[decision.transaction_id]
        for invoice_id, _amount in decision.auto.allocations if decision.auto else ():
            if (customer := customer_of.get(invoice_id)) is not None:
                consumed_at[customer] = max(turn, consumed_at.get(customer, -1))
    out = set()
    for credit in reaching - autos:
        if credit not in order:
            continue  # not open: nothing to decide
        mine = customers.get(credit, set()) & consumed_at.keys()
        if any(consumed_at[c] > order[credit] for c in mine) or (not mine and order[credit] < last):
            out.add(credit)
    return frozenset(out)


def _reaching(session: Session, consumed: set[str], amounts, *, tolerance: int, counts: dict):
    """The open credits reaching the consumed invoices, and each one's customer."""
    items = lookup_tables.items_of(session, INVOICE, consumed)
    keys = lookup_tables.keys_of(session, INVOICE, consumed)
    reaching = scope.affected_by_invoices(
        session,
        keys={key for found in keys.values() for key in found},
        amounts=amounts | {(cur, amount) for cur, amount, _ in items.values()},
        customers={(cur, customer) for cur, _, customer in items.values()},
        tolerance=tolerance,
        counts=counts,
    )
    return reaching, {i: (cur, customer) for i, (cur, _, customer) in items.items()}


def _reaching_referenced(
    session: Session, reach: scope.Reach, tolerance: int, counts: dict
) -> set[str]:
    """The open credits reaching an invoice some credit names by reference.

    Most automatic matches are by reference, and each consumed invoice brings the
    credits that reach it into the run: read before the first pass, they spare the
    second one, which would decide every credit again (at 10M lines, 1,000 credits
    paying by reference brought 4,500 more; each pass built the engine's index of
    104,000 invoices and decided all it had). A guess that misses costs a pass as before.
    """
    named = {i for key, found in reach.hits.items() if key.startswith("r:") for i in found}
    if not named:
        return set()
    found, _customer_of = _reaching(session, named, set(), tolerance=tolerance, counts=counts)
    return found


def full_run_again(
    session: Session,
    *,
    data: RunInput,
    decisions: Sequence[Decision],
    reach: dict[str, set[tuple[str, str]]],
) -> frozenset[str]:
    """The credits a full run decided too early (``_decided_too_early``), for the next run.

    ``reach``: each open credit's customers, as the run's rebuilt look-up tables hold
    them; those tables still show every invoice as it was before the run's matches.
    """
    consumed, amounts = _consumed(data.invoices, decisions)
    if not consumed:
        return frozenset()
    tolerance = data.settings.overpayment_tolerance
    reaching, customer_of = _reaching(session, consumed, amounts, tolerance=tolerance, counts={})
    return _decided_too_early(data.transactions, decisions, reaching, reach, customer_of)


def _large_share(session: Session, count: int) -> bool:
    """Whether ``count`` credits are at least ``FULL_SHARE`` of the open ones.

    The open credits are counted by the rollups, kept exact with every write (a few
    hundred group rows at 10M lines): counting the look-up items instead read up to
    four times ``count`` index entries, 1.0 s right after a full run at 10M had left
    them without a visibility map.
    """
    return _open_credits(session) <= int(count / FULL_SHARE)


def _open_credits(session: Session) -> int:
    """The tenant's credits a run may decide (``load.open_credits``' rule), from the rollups."""
    found, _amount, _allocated = rollups.total(
        session,
        "transactions",
        where=lambda rollup: [
            rollup.direction == "in",
            rollup.status.in_(CREDIT_LINE_STATUSES),
            rollup.detail.in_(OPEN_MATCH_STATUSES),
            rollup.account_id.not_in(stripe_accounts()),
        ],
    )
    return found


def bulk_change(session: Session, changes: Changes) -> bool:
    """Whether the changed credits and invoices alone are a large share of the open credits.

    Then a full run is cheaper than refreshing their look-up rows and tracing what they
    reach only to find as much (a bulk load: 10M generated lines took over half an hour
    of look-ups before the run fell back to a full one). Counted against the open
    credits now, new ones included.
    """
    changed = len(changes.transactions) + len(changes.invoices)
    return changed >= MIN_FULL and _large_share(session, changed)


def incremental_input(
    session: Session, *, credit_ids: set[str], changed_groups: Counter
) -> RunInput | None:
    """The run's input for these credits, closed over payer groups and consumed invoices.

    None when a full run is the cheaper way to the same decisions: the credits to decide
    are a large share of the open ones, or the closure keeps growing pass after pass.
    """
    _plan_for_probes(session)
    computing_between_statements(session)  # the engine's passes, between look-ups
    settings = match_settings(session)
    memory = load_memory(session)
    tolerance = settings.overpayment_tolerance
    credits = set(credit_ids)
    counts: dict = {}  # names per name word: they hold for the whole run
    loaded = _Loaded(
        session, scope.Reach(session, memory=memory, tolerance=tolerance, counts=counts)
    )
    looked_ahead = False
    with collection_paused():
        passes = 0
        while passes < MAX_PASSES:
            credits, crowded = scope.with_payer_groups(session, credits, changed_groups)
            if len(credits) >= MIN_FULL and _large_share(session, len(credits)):
                return None  # a large share of the open credits: a full run is cheaper
            loaded.add(credits)
            if not looked_ahead:
                looked_ahead = True
                ahead = _reaching_referenced(session, loaded.reach, tolerance, counts)
                if not ahead <= credits:
                    credits |= ahead
                    continue
            passes += 1
            data = _decide(loaded.run_input(settings, memory, crowded))
            decisions = data.decided or ()
            consumed, amounts = _consumed(data.invoices, decisions)
            missing: set[str] = set()
            customer_of: dict[str, tuple[str, str]] = {}
            if consumed:
                missing, customer_of = _reaching(
                    session, consumed, amounts, tolerance=tolerance, counts=counts
                )
            if missing <= credits:
                lookup_tables.set_reach(session, loaded.reach.customers, loaded.reach.credit_keys)
                again = _decided_too_early(
                    data.transactions, decisions, missing, loaded.reach.customers, customer_of
                )
                return replace(data, again=again, passes=passes)
            credits |= missing
    return None


def _plan_for_probes(session: Session) -> None:
    """Plan this transaction's look-ups as index probes (PostgreSQL; until it commits).

    They fetch a few thousand rows by key from tables of millions. With the default
    ``random_page_cost`` (4, for spinning disks) PostgreSQL would rather hash a whole
    table than probe its index thousands of times: 150 ms where probes take 60 (measured
    joining 9,000 key rows to ``reconcile_items``). 1.1 is the usual value for SSDs.
    Parallel workers would each build the same hash of the keys: none.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL random_page_cost = 1.1"))
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


# No cyclic collection while an incremental run reads, decides and writes: the engine
# builds its indexes out of many small containers (``payymo.collector``).
collection_paused = collector.paused
