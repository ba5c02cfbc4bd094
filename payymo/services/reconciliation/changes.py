"""The change log a run works from: what changed since the tenant's last run.

Triggers append ``reconcile_changes`` rows in the transaction of every change that
matters (``change_triggers``). A run reads them first, so every change it sees is
already visible in what it loads next, and deletes exactly the rows it read once its
decisions are written: a change committed meanwhile stays for the next run, and a run
that dies leaves its changes for the one after (which reloads state: nothing is done
twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import String, bindparam, delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from payymo.models import ReconcileChange
from payymo.services.reconciliation.change_triggers import RUN_WRITES
from payymo.services.reconciliation.load import ID_CHUNK, one_of
from payymo.tenancy import current_tenant_id

# A run's own writes (its matches, consumed invoices) append changes too, logged as
# ``decided_…`` (``writing_decisions``): the run decided every credit they reach (and
# asks again for those it decided too early, ``decide_again``), so the next run only
# brings the look-up rows up to date for them. A credit it only moved between unmatched
# and suggested is not logged: its look-up rows do not change.
DECIDED = {"transaction": "decided_txn", "invoice": "decided_inv"}


@dataclass
class Changes:
    """The change rows one run took, by kind."""

    ids: list[int] = field(default_factory=list)
    credit_rows: dict[int, str] = field(default_factory=dict)  # change id → transaction id
    transactions: set[str] = field(default_factory=set)
    invoices: set[str] = field(default_factory=set)
    payers: set[str] = field(default_factory=set)  # "iban:…" / "name:…"
    full: bool = False
    # Rows a run's own writes changed: their look-up rows to refresh, nothing to decide.
    decided_transactions: set[str] = field(default_factory=set)
    decided_invoices: set[str] = field(default_factory=set)


def take(session: Session) -> Changes:
    """Every change row of the tenant in scope (read, not deleted)."""
    out = Changes()
    rows = session.execute(
        select(ReconcileChange.id, ReconcileChange.kind, ReconcileChange.object_id).order_by(
            ReconcileChange.id
        )
    )
    for change_id, kind, object_id in rows:
        out.ids.append(change_id)
        if kind == "transaction":
            out.transactions.add(object_id)
            out.credit_rows[change_id] = object_id
        elif kind == "invoice":
            out.invoices.add(object_id)
        elif kind == "payer":
            out.payers.add(object_id)
        elif kind == DECIDED["transaction"]:
            out.decided_transactions.add(object_id)
        elif kind == DECIDED["invoice"]:
            out.decided_invoices.add(object_id)
        else:
            out.full = True
    # A row changed by someone else as well is looked at as theirs.
    out.decided_transactions -= out.transactions
    out.decided_invoices -= out.invoices
    return out


def replace(session: Session, changes: Changes, credit_ids: set[str]) -> Changes:
    """Swap taken changes for one credit change per credit they reach (not committed).

    Returns the change rows now standing for the run: its taken credit changes and the
    new ones. Taken invoice and payer changes are deleted: the look-up tables already
    hold what they said, and the credits they reach are recorded instead.
    """
    kept = Changes(transactions=changes.transactions & credit_ids)
    kept.ids = [i for i, txn in changes.credit_rows.items() if txn in kept.transactions]
    keep = set(kept.ids)
    done(session, Changes(ids=[i for i in changes.ids if i not in keep]))
    kept.ids += _append_credits(session, sorted(credit_ids - kept.transactions))
    kept.transactions = set(credit_ids)
    return kept


def extend(session: Session, changes: Changes, credit_ids: set[str]) -> None:
    """Add a credit change for each of these credits the run also decides (not committed).

    Committed before the run writes anything: a run that dies leaves every credit it
    was deciding to the next one, those its own matches reached included.
    """
    fresh = sorted(credit_ids - changes.transactions)
    changes.ids += _append_credits(session, fresh)
    changes.transactions |= set(fresh)


def decide_again(session: Session, credit_ids: Sequence[str]) -> None:
    """Have the next run decide these credits again (not committed)."""
    _append_credits(session, credit_ids)


def _append_credits(session: Session, credit_ids: Sequence[str]) -> list[int]:
    """Append a credit change per id; the new rows' ids."""
    ids: list[int] = []
    tenant_id = current_tenant_id()
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(credit_ids), ID_CHUNK):
        chunk = list(credit_ids[start : start + ID_CHUNK])
        if postgres:
            # The ids as one array the server unnests: as a VALUES list (three parameters
            # a row), 1,000 rows took 28 to 93 ms to render, send and plan; this, 10 ms.
            rows = select(
                literal(tenant_id),
                literal("transaction"),
                func.unnest(bindparam(None, chunk, type_=ARRAY(String))),
            )
            stmt = insert(ReconcileChange).from_select(("tenant_id", "kind", "object_id"), rows)
            made = session.execute(stmt.returning(ReconcileChange.id))
        else:
            made = session.execute(
                insert(ReconcileChange).returning(ReconcileChange.id),
                [{"tenant_id": tenant_id, "kind": "transaction", "object_id": i} for i in chunk],
            )
        ids += made.scalars()
    return ids


def writing_decisions(session: Session, writing: bool) -> None:
    """Say whether this transaction's next writes are a run's decisions (not committed).

    The change-log triggers then log what they change as the run's own
    (``DECIDED``). PostgreSQL only; on SQLite the next run decides those credits again,
    as after anyone's change. Unset before commit: a test's "commit" only releases a
    savepoint, and the setting would outlive it.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.set_config(RUN_WRITES, "on" if writing else "", True)))


def done(session: Session, changes: Changes) -> None:
    """Delete the change rows a run took (not committed)."""
    for start in range(0, len(changes.ids), ID_CHUNK):
        chunk = changes.ids[start : start + ID_CHUNK]
        session.execute(
            delete(ReconcileChange)
            .where(one_of(session, ReconcileChange.id, chunk))
            .execution_options(synchronize_session=False)
        )


def hold_full(session: Session, changes: Changes) -> None:
    """Append a ``full`` change to the rows ``changes`` stands for (not committed).

    A full run commits it before it writes. Its writes are logged as its own
    (``writing_decisions``), which is right only once it has named the credits it decided
    too early, at its end, when this row goes with the rest: a full run that dies first
    leaves a full run to the next.
    """
    made = session.execute(
        insert(ReconcileChange).returning(ReconcileChange.id),
        [{"tenant_id": current_tenant_id(), "kind": "full", "object_id": None}],
    )
    changes.ids += made.scalars()


def request_full(session: Session) -> None:
    """Make the tenant's next run a full one (not committed)."""
    session.add(ReconcileChange(kind="full", object_id=None))
