"""A tenant's reconcile run: load what to decide, ask the engine, write its decisions.

What to decide is, in an incremental run (the default), the open credits that what
changed since the last run can reach, with every invoice they could look at
(``incremental``); in a full run, every open credit and invoice.

One engine pass sees every candidate (so invoice amounts consumed by one decision are
seen by the next). It runs beside this thread (on a thread, or in processes per
currency group: ``reconciliation.engine``) while this thread applies its automatic matches
in chunks, each committed on its own, so a large run keeps what it finished and the
database waits overlap the engine's work. This is the one service that commits: a
killed run leaves only whole chunks, and a rerun reloads state, so nothing is allocated
twice. Auto decisions are written by ``allocations.apply_matches`` (``apply_match``'s
rules: row locks, amounts re-checked); suggestions, written once the engine has decided
their currency, replace the transaction's open ones, keeping rows whose content is
unchanged, so a rerun over unchanged data writes nothing (credits that stay unmatched
are not even locked).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from types import SimpleNamespace

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payymo import runtime
from payymo.ids import new_id
from payymo.matching.partition import Part
from payymo.matching.types import Candidate, Decision, InvoiceIn, TxnIn
from payymo.models import Suggestion
from payymo.representations.reconciliation import suggestion as suggestion_document
from payymo.services import jobs as job_service
from payymo.services import table_statistics
from payymo.services.allocations import apply_matches
from payymo.services.reconciliation import changes as change_log
from payymo.services.reconciliation import lookup_tables
from payymo.services.reconciliation.engine import engine_stream
from payymo.services.reconciliation.incremental import (
    affected_credits,
    bulk_change,
    collection_paused,
    full_run_again,
    incremental_input,
)
from payymo.services.reconciliation.load import (
    RunInput,
    computing_between_statements,
    load_input,
    match_settings,
    one_of,
)
from payymo.services.reconciliation.lock import tenant_run_lock
from payymo.services.reconciliation.write import (
    ENGINE_ACTOR,
    ChunkWriter,
    TxnState,
    row_view,
)
from payymo.services.stripe import payout_matching

COUNTS = ("auto_matched", "suggested", "skipped_conflicts", "unmatched")
_DEADLOCK = "40P01"
_CHUNK_ATTEMPTS = 3
# Invoices by id as a suggestion shows them: number, customer_name, amount_remaining.
Shown = dict[str, SimpleNamespace]
Reach = dict[str, set[tuple[str, str]]]  # each open credit's customers (a full run's)


def _reasons(candidate: Candidate) -> list[dict]:
    return [{"code": r.code, "text": r.text} for r in candidate.reasons]


def _key(lines) -> tuple[tuple[str, int, int], ...]:
    return tuple(
        (line["invoice_id"], int(line["amount"]), int(line.get("charge", 0))) for line in lines
    )


def _candidate_key(candidate: Candidate) -> tuple[tuple[str, int, int], ...]:
    return tuple((i, a, candidate.charge_for(i)) for i, a in candidate.allocations)


def _line(invoice_id: str, amount: int, charge: int) -> dict:
    # "charge" only when there is one: older suggestions (and most) have none
    line = {"invoice_id": invoice_id, "amount": amount}
    return line | {"charge": charge} if charge else line


def _open_suggestions(session: Session, ids: Sequence[str]) -> dict[str, list[Suggestion]]:
    found: dict[str, list[Suggestion]] = defaultdict(list)
    if not ids:
        return found
    stmt = select(Suggestion).where(
        one_of(session, Suggestion.transaction_id, ids), Suggestion.status == "open"
    )
    for suggestion in sorted(session.scalars(stmt), key=lambda s: s.id):
        found[suggestion.transaction_id].append(suggestion)
    return found


def _refresh(suggestion: Suggestion, rank: int, candidate: Candidate) -> None:
    values = {
        "rank": rank,
        "confidence": round(candidate.confidence, 4),
        "reasons": _reasons(candidate),
    }
    for name, value in values.items():
        if getattr(suggestion, name) != value:
            setattr(suggestion, name, value)


def _sync_suggestions(
    writer: ChunkWriter, txn: TxnState, candidates: Sequence[Candidate], existing, shown: Shown
) -> int:
    """Make the transaction's open suggestions ``candidates``; returns how many are open."""
    wanted: dict[tuple, tuple[int, Candidate]] = {}
    for candidate in candidates:
        wanted.setdefault(_candidate_key(candidate), (len(wanted) + 1, candidate))
    kept: set[tuple] = set()
    for suggestion in existing:
        key = _key(suggestion.allocations)
        if key in wanted and key not in kept:
            _refresh(suggestion, *wanted[key])
            kept.add(key)
        elif suggestion.status == "open":
            writer.expire(suggestion)
    for key, (rank, candidate) in wanted.items():
        if key in kept:
            continue
        row = {
            "id": new_id("sug"),
            "tenant_id": writer.tenant_id,
            "transaction_id": txn.id,
            "allocations": [_line(*line) for line in key],
            "invoice_ids": [line[0] for line in key],
            "confidence": round(candidate.confidence, 4),
            "reasons": _reasons(candidate),
            "rank": rank,
            "status": "open",
            "created_at": writer.now,
            "decided_at": None,
            "decided_by": None,
            "match_id": None,
        }
        writer.suggestions.append(row)
        # Reasons dump as they are; the currency is the transaction's (not a column).
        view = row_view(row, reasons=candidate.reasons, currency=txn.currency, shown_invoices=shown)
        writer.event("suggestion.created", {"object": suggestion_document(view)})
    return len(wanted)


def _set_status(writer: ChunkWriter, txn: TxnState, has_suggestions: bool) -> None:
    # Only a credit with nothing allocated moves between unmatched and suggested.
    if txn.amount_allocated != 0 or txn.match_status not in ("unmatched", "suggested"):
        return
    wanted = "suggested" if has_suggestions else "unmatched"
    if txn.match_status != wanted:
        txn.match_status = wanted
        writer.txn_changed(txn)


def _apply_chunk(
    session: Session, decisions: Sequence[Decision], data: RunInput, seen, shown: Shown
):
    """Write one chunk of decisions (not committed); returns its counts."""
    counts: Counter = Counter()
    ids = [d.transaction_id for d in decisions]
    # What the writes reach, the run decides or names to decide again (``RunInput.again``).
    change_log.writing_decisions(session, True)
    writer = ChunkWriter(session)
    txns = writer.lock_transactions(ids)
    open_by_txn = _open_suggestions(session, [i for i in ids if i in data.with_suggestions])
    autos: list[Candidate] = []
    for decision in decisions:
        txn = txns.get(decision.transaction_id)
        if (
            txn is None
            or txn.match_status == "ignored"
            or txn.amount - txn.amount_allocated != seen[txn.id].amount
        ):
            counts["skipped_conflicts"] += 1  # changed since it was loaded
            continue
        if decision.auto is not None:
            autos.append(decision.auto)
            continue
        existing = open_by_txn.get(txn.id, [])
        live = _sync_suggestions(writer, txn, decision.suggestions, existing, shown)
        counts["suggested" if live else "unmatched"] += 1
        _set_status(writer, txn, bool(live))
    written = apply_matches(
        session=session,
        writer=writer,
        candidates=autos,
        method="auto",
        created_by=ENGINE_ACTOR,
        open_suggestions=open_by_txn,
    )
    counts["auto_matched"] += sum(written)
    counts["skipped_conflicts"] += len(written) - sum(written)
    writer.write()
    change_log.writing_decisions(session, False)
    return counts


def _is_deadlock(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) == _DEADLOCK


def _apply_with_retry(session: Session, decisions, data: RunInput, seen, shown: Shown) -> Counter:
    for attempt in range(1, _CHUNK_ATTEMPTS + 1):
        try:
            return _apply_chunk(session, decisions, data, seen, shown)
        except DBAPIError as exc:
            # A person's match locking the same rows in another order: PostgreSQL
            # aborted us; the chunk is rolled back whole and simply tried again.
            session.rollback()
            if not _is_deadlock(exc) or attempt == _CHUNK_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _open_after_autos(decisions: list[Decision], invoices: Sequence[InvoiceIn]) -> dict[str, int]:
    """What each invoice still owes once the decisions' automatic matches are written."""
    left = {invoice.id: invoice.open_amount for invoice in invoices}
    for decision in decisions:
        auto = decision.auto
        for invoice_id, amount in auto.allocations if auto else ():
            left[invoice_id] = left.get(invoice_id, 0) - amount - auto.charge_for(invoice_id)
    return left


def _shown(
    decisions: Sequence[Decision], invoices: Sequence[InvoiceIn], left: dict[str, int]
) -> Shown:
    """The invoices the suggestions name, as a person sees them once the autos are written."""
    named = {i for d in decisions for c in d.suggestions for i, _ in c.allocations}
    return {
        invoice.id: SimpleNamespace(
            number=invoice.number,
            customer_name=invoice.customer_name,
            amount_remaining=left[invoice.id],
        )
        for invoice in invoices
        if invoice.id in named
    }


def _complete(
    decisions: list[Decision], transactions: list[TxnIn], left: dict[str, int]
) -> list[Decision]:
    """One decision per transaction, suggestions limited to what the autos leave open.

    A transaction the engine said nothing about gets an empty decision (its old
    suggestions must go). A suggestion for an invoice that a later transaction's auto
    match pays would be gone on the next run, so it is not written in the first place.
    ``left`` is ``_open_after_autos`` of the decisions.
    """
    by_id = {d.transaction_id: d for d in decisions}
    completed = []
    for txn in transactions:
        decision = by_id.get(txn.id) or Decision(txn.id, None, ())
        fitting = tuple(
            c
            for c in decision.suggestions
            if all(a + c.charge_for(i) <= left.get(i, 0) for i, a in c.allocations)
        )
        if fitting != decision.suggestions:
            decision = Decision(txn.id, decision.auto, fitting)
        completed.append(decision)
    return completed


def run_reconciliation(
    *,
    session: Session,
    job_id: str | None = None,
    chunk_size: int | None = None,
    processes: int | None = None,
    parallel_min: int | None = None,
    full: bool = False,
) -> dict:
    """Reconcile the tenant in scope; commits each chunk; returns the counts.

    Incremental unless ``full`` (or a ``full`` change asks for it): the credits the
    changes since the last run reach are decided, as a full run would decide them.

    Automatic matches are final when the engine makes them, so they are written a
    chunk at a time while the engine goes on; a part's suggestions wait until the part
    is decided, when it is known which invoices the automatic matches left open
    (``_complete``). ``chunk_size`` (default: the configured ``reconcile_chunk_size``)
    is how many automatic matches a commit holds. ``processes`` and ``parallel_min``
    (defaults: the configured ``reconcile_processes`` and ``reconcile_parallel_min``)
    say how many engine processes, from how many credits on.
    """
    configured = runtime.settings()
    if chunk_size is None:
        chunk_size = configured.reconcile_chunk_size
    if processes is None:
        processes = configured.reconcile_processes
    if parallel_min is None:
        parallel_min = configured.reconcile_parallel_min
    with tenant_run_lock(session):
        # The chunks' plans depend on them, and the incremental look-ups' on theirs.
        tables = table_statistics.TABLES + table_statistics.LOOKUP_TABLES
        table_statistics.refresh_if_stale(session=session, tables=tables)
        # Payout credits first: a bank line that is a Stripe payout pays no invoice.
        payouts_matched = payout_matching.match_open_payouts(session=session)
        session.commit()
        with ExitStack() as paused:
            data, pending, reach = _prepare(session, full=full)
            if not pending.full:
                paused.enter_context(collection_paused())
            seen = {t.id: t for t in data.transactions}
            totals = {
                "mode": "full" if pending.full else "incremental",
                "passes": data.passes,
                "transactions_considered": len(data.transactions),
                "invoices_considered": len(data.invoices),
                **dict.fromkeys(COUNTS, 0),
                "payouts_matched": payouts_matched,
            }

            def write(chunk: Sequence[Decision], shown: Shown | None = None) -> None:
                counts = _apply_with_retry(session, chunk, data, seen, shown or {})
                for name in COUNTS:
                    totals[name] += counts[name]
                if job_id is not None:
                    job_service.record_progress(session=session, job_id=job_id, result=dict(totals))
                session.commit()

            made: list[Decision | None] = [None] * len(data.transactions)
            autos: list[Decision] = []

            def part_decided(part: Part) -> None:
                # Its currencies' invoices are settled: what the autos leave open is known.
                decided = [made[p] for p in part.positions]
                left = _open_after_autos(decided, part.invoices)
                rest = [
                    d
                    for d in _complete(decided, part.transactions, left)
                    if d.auto is None and (d.suggestions or d.transaction_id not in data.settled)
                ]
                totals["unmatched"] += sum(1 for d in decided if d.auto is None) - len(rest)
                shown = _shown(rest, part.invoices, left)
                for start in range(0, len(rest), chunk_size):
                    write(rest[start : start + chunk_size], shown)

            with engine_stream(data, processes=processes, parallel_min=parallel_min) as stream:
                for item in stream:
                    if isinstance(item, Part):
                        part_decided(item)
                        continue
                    position, decision = item
                    made[position] = decision
                    if decision.auto is not None:
                        autos.append(decision)
                        if len(autos) == chunk_size:
                            write(autos)
                            autos = []
            if autos:
                write(autos)
            again = data.again
            if again is None:  # a full run: its decisions are all made now
                again = full_run_again(
                    session, data=data, decisions=[d for d in made if d], reach=reach
                )
            change_log.decide_again(session, sorted(again))
            change_log.done(session, pending)  # what this run decided is settled
            session.commit()
            return totals


def _prepare(session: Session, *, full: bool) -> tuple[RunInput, change_log.Changes, Reach]:
    """The run's input, the change rows to delete once its decisions are written, and
    (a full run) each open credit's customers.

    A full run (asked for, or a ``full`` change: new settings, data from before the
    change log; or when the changes are, or reach, a large share of the open credits)
    reads every open credit and invoice and rebuilds the look-up tables. An
    incremental one turns its changes into the credits they reach and, in the same
    commit, writes those back as credit changes in place of the rest: a run that dies
    after it leaves exactly the credits still to decide for the next run.
    """
    changes = change_log.take(session)
    if full or changes.full or bulk_change(session, changes):
        return _full_input(session, changes)
    credit_ids, changed_groups = affected_credits(
        session, changes=changes, settings=match_settings(session)
    )
    pending = change_log.replace(session, changes, credit_ids)
    session.commit()
    data = incremental_input(session, credit_ids=credit_ids, changed_groups=changed_groups)
    if data is not None:
        change_log.extend(session, pending, {t.id for t in data.transactions})
    session.commit()
    if data is None:  # as many credits to decide as a full run reads: read them all
        return _full_input(session, pending)
    return data, pending, {}


def _full_input(
    session: Session, changes: change_log.Changes
) -> tuple[RunInput, change_log.Changes, Reach]:
    computing_between_statements(session)
    data = load_input(session)
    reach = lookup_tables.rebuild(
        session,
        credits=data.transactions,
        invoices=data.invoices,
        settings=data.settings,
        memory=data.memory,
    )
    change_log.hold_full(session, changes)
    session.commit()
    table_statistics.refresh_if_stale(session=session, tables=table_statistics.LOOKUP_TABLES)
    session.commit()
    changes.full = True
    return data, changes, reach
