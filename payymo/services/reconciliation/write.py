"""One chunk of a reconcile run, written in a handful of statements.

Per-row ORM writes cost ~1 ms a match (a flush, the tenancy flush guard, one UPDATE or
INSERT per row); a run of 100,000 credits cannot afford that. A chunk instead locks
its transactions (columns only) and the invoices it pays (id order, so the lock order
stays transactions first, then invoices, as in ``allocations.apply_match``), changes
them in memory, and ends with one UPDATE per table and one bulk insert per table of
the new matches, lines, suggestions and outbox events. On PostgreSQL the UPDATE reads
its values from unnested arrays and the inserts are COPYs; elsewhere (the embedded
SQLite default, small data) plain statements do. UPDATEs are ORM-enabled, so the
tenancy hook scopes them; new rows carry the tenant in scope.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import orjson
from sqlalchemy import (
    JSON,
    String,
    bindparam,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import Allocation, Event, Invoice, Match, Suggestion, Transaction
from payymo.observability import request_id_var
from payymo.services.reconciliation.load import one_of
from payymo.tenancy import current_tenant_id

ENGINE_ACTOR = "engine"
_TXN_CHANGES = ("amount_allocated", "match_status", "updated_at")
_INVOICE_CHANGES = ("amount_paid", "amount_charged", "status", "updated_at")

# A run of a few lines writes a few rows: one multi-row INSERT, not the staging table's
# four statements (create, COPY, INSERT … SELECT, TRUNCATE) per table.
SMALL_INSERT = 100


@dataclass(slots=True)
class TxnState:
    """A locked transaction's amounts and status, as ``allocations`` checks read them."""

    id: str
    amount: int
    amount_allocated: int
    currency: str
    match_status: str
    updated_at: dt.datetime


def row_view(row: dict, **extra) -> SimpleNamespace:
    """``row`` (and its lists of dicts) as attributes: what ``OutputSchema`` dumps fastest."""
    values = {**row, **extra}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = [SimpleNamespace(**v) if isinstance(v, dict) else v for v in value]
    return SimpleNamespace(**values)


class InvoiceState(SimpleNamespace):
    """A locked invoice's columns, by attribute name, outside the session.

    Plain attributes are cheaper than ORM instances (loaded, tracked, expunged) by the
    tens of thousands; ``InvoiceOut`` dumps either the same way.
    """

    amount_remaining = property(Invoice.amount_remaining.fget)


def _update(session: Session, model, rows: Sequence, names: tuple[str, ...]) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name != "postgresql":
        for row in rows:  # the embedded default: few rows, one statement each is fine
            session.execute(
                update(model)
                .where(model.id == row.id)
                .values({name: getattr(row, name) for name in names})
                .execution_options(synchronize_session=False)
            )
        return
    # One statement whatever the row count: the new values arrive as arrays, unnested. A
    # column with one value for every row (``updated_at`` always) is a single parameter:
    # psycopg dumps array elements one by one in Python. The join needs statistics: the
    # run refreshes them first (``table_statistics``), else it can become a nested loop
    # over every invoice of the tenant (5 s per 1,000-row chunk, measured).
    table = model.__table__
    params = {"p_id": [row.id for row in rows]}
    arrays = [bindparam("p_id", type_=ARRAY(String))]
    varying, values = [], {}
    for name in names:
        column = [getattr(row, name) for row in rows]
        if all(value == column[0] for value in column):
            values[name] = bindparam(f"p_{name}", column[0], type_=table.c[name].type)
        else:
            varying.append(name)
            params[f"p_{name}"] = column
            arrays.append(bindparam(f"p_{name}", type_=ARRAY(table.c[name].type)))
    source = func.unnest(*arrays).table_valued("id", *varying).render_derived(name="v")
    values.update({name: source.c[name] for name in varying})
    session.execute(
        update(model)
        .where(model.id == source.c.id)
        .values(values)
        .execution_options(synchronize_session=False),
        params,
    )


def _json(value) -> str:
    return orjson.dumps(value).decode()


def _copy(session: Session, model, rows: list[dict]) -> None:
    """COPY rows into ``model``'s table (PostgreSQL): the fastest way in, same values.

    Row-level security refuses COPY into a tenant table, so the rows are copied into a
    temporary staging table (no policy, private to this connection, emptied at commit)
    and moved with one INSERT … SELECT, which the policy checks row by row: a row of
    another tenant fails the chunk. JSON columns go in as text encoded by orjson (an
    event's payload is most of a row).
    """
    table = model.__table__
    names = list(rows[0])
    # Every name is one of the table's own columns (table.c raises otherwise), so the
    # identifiers below come from the schema, never from data.
    as_json = {name for name in names if isinstance(table.c[name].type, JSON)}
    columns = ", ".join(f'"{name}"' for name in names)
    stage = f"payymo_stage_{table.name}_{zlib.crc32(columns.encode()):08x}"
    # Through the session, so the transaction carries the tenant settings the policy reads.
    create = f'CREATE TEMPORARY TABLE IF NOT EXISTS "{stage}" ON COMMIT DELETE ROWS AS '
    create += f'SELECT {columns} FROM "{table.name}" WITH NO DATA'  # noqa: S608
    session.execute(text(create))
    cursor = session.connection().connection.driver_connection.cursor()
    with cursor, cursor.copy(f'COPY "{stage}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row([_json(row[n]) if n in as_json else row[n] for n in names])
    moved = f'INSERT INTO "{table.name}" ({columns}) SELECT {columns} FROM "{stage}"'  # noqa: S608
    session.execute(text(moved))
    session.execute(text(f'TRUNCATE "{stage}"'))


def _insert(session: Session, model, rows: list[dict]) -> None:
    if session.get_bind().dialect.name == "postgresql" and len(rows) > SMALL_INSERT:
        _copy(session, model, rows)
    else:
        session.execute(insert(model), rows)


class ChunkWriter:
    """Collects one chunk's changes and writes them together."""

    def __init__(self, session: Session):
        self.session = session
        self.tenant_id = current_tenant_id()
        self.request_id = request_id_var.get()
        self.now = utcnow()
        self.matches: list[dict] = []
        self.lines: list[dict] = []
        self.suggestions: list[dict] = []
        self.events: list[dict] = []
        self.txns: dict[str, TxnState] = {}
        self.invoices: dict[str, InvoiceState] = {}
        self._changed_txns: dict[str, TxnState] = {}
        self._changed_invoices: dict[str, InvoiceState] = {}
        self._expired: list[Suggestion] = []

    def lock_transactions(self, ids: Sequence[str]) -> dict[str, TxnState]:
        """Re-read the chunk's transactions under row locks, in id order."""
        t = Transaction
        rows = self.session.execute(
            select(t.id, t.amount, t.amount_allocated, t.currency, t.match_status, t.updated_at)
            .where(one_of(self.session, t.id, sorted(set(ids))))
            .order_by(t.id)
            .with_for_update()
        )
        self.txns = {row[0]: TxnState(*row) for row in rows}
        return self.txns

    def lock_invoices(self, ids) -> dict[str, InvoiceState]:
        """Re-read invoices under row locks, in id order; written by ``write``."""
        wanted = sorted(set(ids) - set(self.invoices))
        if wanted:
            keys = [attr.key for attr in inspect(Invoice).column_attrs]
            rows = self.session.execute(
                select(*(getattr(Invoice, key) for key in keys))
                .where(one_of(self.session, Invoice.id, wanted))
                .order_by(Invoice.id)
                .with_for_update()
            )
            for row in rows:
                invoice = InvoiceState(**dict(zip(keys, row, strict=True)))
                self.invoices[invoice.id] = invoice
        return self.invoices

    def txn_changed(self, txn: TxnState) -> None:
        """Mark a transaction for the UPDATE (its changed fields set by the caller)."""
        txn.updated_at = self.now
        self._changed_txns[txn.id] = txn

    def invoice_changed(self, invoice: InvoiceState) -> None:
        """Mark an invoice for the UPDATE (its changed fields set by the caller)."""
        invoice.updated_at = self.now
        self._changed_invoices[invoice.id] = invoice

    def event(self, kind: str, data: dict) -> None:
        """An outbox event, written with the chunk (as ``events.emit`` would)."""
        self.events.append(
            {
                "id": new_id("evt"),
                "tenant_id": self.tenant_id,
                "type": kind,
                "data": data,
                "request_id": self.request_id,
                "created_at": self.now,
            }
        )

    def expire(self, suggestion: Suggestion) -> None:
        """Have the engine expire an open suggestion: written by ``write``."""
        self._expired.append(suggestion)

    def _write_expired(self) -> None:
        # One UPDATE for the chunk: changed through the ORM, each expired suggestion was
        # its own statement, and so its own run of the rollup trigger (0.7 s for 9,000
        # at 10M lines). The loaded objects are told what the rows now hold.
        values = {"status": "expired", "decided_at": self.now, "decided_by": ENGINE_ACTOR}
        ids = [suggestion.id for suggestion in self._expired]
        self.session.execute(
            update(Suggestion)
            .where(one_of(self.session, Suggestion.id, ids))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        for suggestion in self._expired:
            for name, value in values.items():
                set_committed_value(suggestion, name, value)
        self._expired = []

    def write(self) -> None:
        """Flush ORM changes, then one UPDATE per table and multi-row INSERTs."""
        self.session.flush()
        if self._expired:
            self._write_expired()
        _update(self.session, Transaction, list(self._changed_txns.values()), _TXN_CHANGES)
        _update(self.session, Invoice, list(self._changed_invoices.values()), _INVOICE_CHANGES)
        tables = (
            (Match, self.matches),
            (Allocation, self.lines),
            (Suggestion, self.suggestions),
            (Event, self.events),
        )
        for model, rows in tables:
            if rows:
                _insert(self.session, model, rows)
