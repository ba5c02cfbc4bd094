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
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payymo.matching.engine import reconcile
from payymo.matching.types import Horizon, MatchSettings, PayerMemory
from payymo.models import ReconcileItem
from payymo.models.reconcile_index import CREDIT, INVOICE
from payymo.services.reconciliation import lookup_tables, scope
from payymo.services.reconciliation.changes import Changes
from payymo.services.reconciliation.load import (
    RunInput,
    blocked_pairs,
    match_settings,
    open_credits,
    open_invoices,
    with_open_suggestions,
)
from payymo.services.reconciliation.payer_memory import load as load_memory

# A run deciding at least this share of the open credits (and at least MIN_FULL) reads
# them all instead: one streamed pass beats look-ups, and engine processes can share it.
FULL_SHARE = 0.25
MIN_FULL = 1_000
MAX_PASSES = 4  # automatic matches reaching still more credits after this: a full run


def affected_credits(session: Session, *, changes: Changes, settings: MatchSettings):
    """Refresh the look-up tables from ``changes``; the credits they reach (not committed)."""
    refreshed = lookup_tables.refresh(
        session,
        transaction_ids=changes.transactions,
        invoice_ids=changes.invoices,
        settings=settings,
    )
    credits = scope.affected(
        session,
        refreshed=refreshed,
        payers=changes.payers,
        tolerance=settings.overpayment_tolerance,
    )
    return credits, refreshed.groups


def _input(
    session: Session,
    credit_ids: set[str],
    settings: MatchSettings,
    memory: PayerMemory,
    crowded_payers: frozenset,
    counts: dict,
) -> tuple[RunInput, dict]:
    """The input for these credits, and the customers each reaches (``Reach.customers``)."""
    credits, untouched = open_credits(session, credit_ids)
    reach = scope.reachable(
        session,
        credits=credits,
        memory=memory,
        tolerance=settings.overpayment_tolerance,
        counts=counts,
    )
    ids = [t.id for t in credits]
    with_suggestions = with_open_suggestions(session, ids)
    return RunInput(
        transactions=credits,
        invoices=open_invoices(session, reach.invoice_ids),
        settings=settings,
        memory=memory,
        blocked=blocked_pairs(session, ids),
        with_suggestions=with_suggestions,
        settled=untouched - with_suggestions,
        horizon=Horizon(
            common_words=reach.common_words,
            crowded_amounts=reach.crowded_amounts,
            crowded_payers=crowded_payers,
        ),
    ), reach.customers


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


def _consumed(data: RunInput) -> tuple[set[str], set[tuple[str, int]]]:
    """The invoices the decisions' automatic matches consume, and every amount they owe."""
    left = {inv.id: (inv.currency, inv.open_amount) for inv in data.invoices}
    decisions = data.decided or ()
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


def _open_credit_count(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(ReconcileItem).where(ReconcileItem.side == CREDIT)
    )


def incremental_input(
    session: Session, *, credit_ids: set[str], changed_groups: Counter
) -> RunInput | None:
    """The run's input for these credits, closed over payer groups and consumed invoices.

    None when a full run is the cheaper way to the same decisions: the credits to decide
    are a large share of the open ones, or the closure keeps growing pass after pass.
    """
    settings = match_settings(session)
    memory = load_memory(session)
    tolerance = settings.overpayment_tolerance
    credits = set(credit_ids)
    counts: dict = {}  # names per name word: they hold for the whole run
    open_count: int | None = None  # counted once, and only for a large run
    for _pass in range(MAX_PASSES):
        credits, crowded = scope.with_payer_groups(session, credits, changed_groups)
        if len(credits) >= MIN_FULL:
            if open_count is None:
                open_count = _open_credit_count(session)
            if len(credits) >= FULL_SHARE * open_count:
                return None  # a large share of the open credits: a full run is cheaper
        data, reach = _input(session, credits, settings, memory, crowded, counts)
        data = _decide(data)
        consumed, amounts = _consumed(data)
        if not consumed:
            lookup_tables.set_reach(session, reach)
            return data
        items = lookup_tables.items_of(session, INVOICE, consumed)
        keys = lookup_tables.keys_of(session, INVOICE, consumed)
        missing = scope.affected_by_invoices(
            session,
            keys={key for found in keys.values() for key in found},
            amounts=amounts | {(cur, amount) for cur, amount, _ in items.values()},
            customers={(cur, customer) for cur, _, customer in items.values()},
            tolerance=tolerance,
            counts=counts,
        )
        if missing <= credits:
            lookup_tables.set_reach(session, reach)
            return data
        credits |= missing
    return None
