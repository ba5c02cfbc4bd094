"""What a reconcile run reads: open credits, open invoices, settings, memory, blocks.

Columns only (no ORM objects), through the (tenant_id, match_status) and
(tenant_id, status) indexes: a run looks at what is still open, never the whole history.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from sqlalchemy import any_, bindparam, select, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from payymo.matching.types import Decision, Horizon, InvoiceIn, MatchSettings, PayerMemory, TxnIn
from payymo.models import BankAccount, Invoice, MatchBlock, Suggestion, Transaction
from payymo.services import tenants
from payymo.services.reconciliation import payer_memory

OPEN_MATCH_STATUSES = ("unmatched", "suggested", "partially_matched")
OPEN_INVOICE_STATUSES = ("open", "partially_paid")
CREDIT_LINE_STATUSES = ("booked", "pending")  # an expired line is decided no more


@dataclass(frozen=True)
class RunInput:
    """Everything the engine needs for one tenant."""

    transactions: list[TxnIn]
    invoices: list[InvoiceIn]
    settings: MatchSettings
    memory: PayerMemory
    blocked: frozenset[tuple[str, str]]
    # Only a run writes suggestions and runs take turns, so during a run this set can
    # only shrink: the chunks look up open suggestions of these transactions alone.
    with_suggestions: frozenset[str]
    # Credits stored as an empty decision leaves them (unmatched, nothing allocated, no
    # open suggestions): when the engine again finds nothing, there is nothing to write.
    settled: frozenset[str] = frozenset()
    # What a partial load (an incremental run) knows of the rest of the tenant.
    horizon: Horizon = field(default_factory=Horizon)
    # The engine's decisions, one per transaction in order, when already made (an
    # incremental run decides while it finds what to decide).
    decided: tuple[Decision, ...] | None = None
    # An incremental run's credits that saw an invoice before an automatic match of the
    # same pass consumed it (the engine decides oldest first): the next run decides them
    # again, as a full run would see that invoice paid. None (a full run): known once
    # its pass has decided every credit (``incremental.full_run_again``).
    again: frozenset[str] | None = None
    # How many times the engine decided the credits: an incremental run repeats its pass
    # when automatic matches reach credits it had not read (``incremental_input``).
    passes: int = 1


def match_settings(session: Session) -> MatchSettings:
    """The tenant's stored matching settings over the defaults."""
    values = tenants.current_tenant(session=session).effective_settings
    return MatchSettings(
        auto_match_enabled=bool(values["auto_match_enabled"]),
        threshold=float(values["auto_match_threshold"]),
        date_window_days=int(values["date_window_days"]),
        overpayment_tolerance=int(values["overpayment_tolerance"]),
        charge_tolerance=int(values["charge_tolerance"]),
        reference_pattern=values["reference_pattern"] or None,
    )


ID_CHUNK = 1000  # ids per IN list when a run reads some rows, not all


def computing_between_statements(session: Session) -> None:
    """No idle-in-transaction timeout until this transaction ends (PostgreSQL).

    A run computes between two statements of one transaction: a full run every open
    row's look-up keys (at 10M lines over a minute on a slow machine, and PostgreSQL
    ended the session at 60 s idle), an incremental one its engine passes (a closure
    just under ``incremental.FULL_SHARE`` of a large tenant's credits is as long). The
    run holds its tenant's run lock, and what the transaction has written are look-up
    and change-log rows, which only runs write.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))


def chunked(values: Collection, size: int = ID_CHUNK) -> Iterator[list]:
    """``values`` sorted, ``size`` at a time (for IN lists)."""
    ordered = sorted(values)
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def one_of(session: Session, column, values: Collection):
    """``column IN values``; on PostgreSQL one array parameter, not a placeholder per value.

    (A thousand placeholders cost more to render and parse than the look-up itself.)
    """
    values = list(values)
    if session.get_bind().dialect.name != "postgresql":
        return column.in_(values)
    return column == any_(bindparam(None, values, type_=ARRAY(column.type)))


def _chunks(ids: Collection[str] | None) -> Iterator[list[str] | None]:
    """The id chunks to read (one None: every row)."""
    if ids is None:
        yield None
        return
    yield from chunked(ids)


def blocked_pairs(
    session: Session, transaction_ids: Collection[str] | None = None
) -> frozenset[tuple[str, str]]:
    """(transaction, invoice) pairs never to match or suggest again (of these credits)."""
    out = set()
    for chunk in _chunks(transaction_ids):
        stmt = select(MatchBlock.transaction_id, MatchBlock.invoice_id)
        if chunk is not None:
            stmt = stmt.where(one_of(session, MatchBlock.transaction_id, chunk))
        out.update((txn_id, invoice_id) for txn_id, invoice_id in session.execute(stmt))
    return frozenset(out)


def with_open_suggestions(
    session: Session, transaction_ids: Collection[str] | None = None
) -> frozenset[str]:
    """Ids of the transactions (of these) that have open suggestions."""
    out: set[str] = set()
    for chunk in _chunks(transaction_ids):
        stmt = select(Suggestion.transaction_id).where(Suggestion.status == "open").distinct()
        if chunk is not None:
            stmt = stmt.where(one_of(session, Suggestion.transaction_id, chunk))
        out.update(session.scalars(stmt))
    return frozenset(out)


def _remittance(text: str | None, end_to_end_id: str | None) -> str:
    return "\n".join(part for part in (text, end_to_end_id) if part)


def open_credits(
    session: Session, ids: Collection[str] | None = None
) -> tuple[list[TxnIn], frozenset[str]]:
    """Booked and pending credits with something left to allocate (of ``ids``), by id.

    Also the ids of those still unmatched with nothing allocated (one query for both).
    """
    rows = [row for chunk in _chunks(ids) for row in _credit_rows(session, chunk)]
    rows.sort(key=lambda row: row[0])
    credits = [
        TxnIn(
            id=row[0],
            amount=int(row[1]),
            currency=row[2],
            booked=row[3] == "booked",
            booking_date=row[4] or row[5],
            counterparty_name=row[6],
            counterparty_iban=row[7],
            remittance=_remittance(row[8], row[9]),
        )
        for row in rows
    ]
    return credits, frozenset(row[0] for row in rows if row[10])


def stripe_accounts():
    """The tenant's Stripe clearing accounts (a subquery): their lines are never decided."""
    return select(BankAccount.id).where(BankAccount.kind == "stripe")


def _credit_rows(session: Session, ids: list[str] | None) -> list:
    t = Transaction
    return session.execute(
        select(
            t.id,
            t.amount - t.amount_allocated,
            t.currency,
            t.status,
            t.booking_date,
            t.value_date,
            t.counterparty_name,
            t.counterparty_iban,
            t.remittance_information,
            t.end_to_end_id,
            (t.match_status == "unmatched") & (t.amount_allocated == 0),
        )
        .where(
            t.match_status.in_(OPEN_MATCH_STATUSES),
            t.status.in_(CREDIT_LINE_STATUSES),
            # Stripe clearing lines are settled from Stripe's own facts, never guessed.
            t.account_id.not_in(stripe_accounts()),
            t.amount > 0,
            t.amount > t.amount_allocated,
            *([one_of(session, t.id, ids)] if ids is not None else []),
        )
        .order_by(t.id)
    ).all()


def open_invoices(session: Session, ids: Collection[str] | None = None) -> list[InvoiceIn]:
    """Open and partially paid invoices with something still owed (of ``ids``), by id."""
    return _invoices(
        session,
        [None] if ids is None else [one_of(session, Invoice.id, chunk) for chunk in chunked(ids)],
    )


def _invoices(session: Session, filters: list) -> list[InvoiceIn]:
    """The open invoices each filter (None: all) selects, by id."""
    rows = [row for where in filters for row in _invoice_rows(session, where)]
    rows.sort(key=lambda row: row[0])
    return [
        InvoiceIn(
            id=row[0],
            number=row[1],
            customer_name=row[2],
            customer_email=row[3],
            customer_reference=row[4],
            open_amount=int(row[5]),
            currency=row[6],
            issue_date=row[7],
            due_date=row[8],
        )
        for row in rows
    ]


def _invoice_rows(session: Session, where) -> list:
    i = Invoice
    return session.execute(
        select(
            i.id,
            i.number,
            i.customer_name,
            i.customer_email,
            i.customer_reference,
            i.amount_due - i.amount_paid - i.amount_charged,
            i.currency,
            i.issue_date,
            i.due_date,
        )
        .where(
            i.status.in_(OPEN_INVOICE_STATUSES),
            i.amount_due > i.amount_paid + i.amount_charged,
            *([where] if where is not None else []),
        )
        # Rows by id are sorted here (``_invoices``): at 10M lines a pool's 100,000 rows
        # sorted by the server spilled to disk (0.1 s).
        .order_by(i.id if where is None else None)
    ).all()


def load_input(session: Session) -> RunInput:
    """Read everything one run of the engine needs, for the tenant in scope."""
    with_suggestions = with_open_suggestions(session)
    credits, untouched = open_credits(session)
    return RunInput(
        transactions=credits,
        invoices=open_invoices(session),
        settings=match_settings(session),
        memory=payer_memory.load(session),
        blocked=blocked_pairs(session),
        with_suggestions=with_suggestions,
        settled=untouched - with_suggestions,
    )
