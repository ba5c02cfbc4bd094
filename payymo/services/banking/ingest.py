"""Write a provider's transactions into a synced account: set-based, whole or not at all.

Keys come from ``services.dedupe`` (the statement import's): the provider's id, else the
normalised content and its occurrence, per account. Then, under the account's row lock:
- a line already known is left alone (a matched line is never modified);
- a booked line that replaces a pending one (same id, or the pending line vanished and
  the booked one has its amount) supersedes it in place: one transaction, now booked;
  so does a booked line whose pending twin (same id) expired in an earlier sync;
- a pending line the bank no longer reports becomes ``expired``, never deleted;
- the rest are inserted set-based (``bulk``: ``INSERT … ON CONFLICT DO NOTHING``) in
  batches, each with its ``transaction.created`` events, in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import SimpleNamespace

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from integrations.banking import TransactionPage
from payymo import events
from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import Event, Transaction
from payymo.observability import request_id_var
from payymo.representations.transactions import transaction as document
from payymo.services import dedupe
from payymo.services.banking import bulk
from payymo.services.banking.lines import Problem, rows_from_page
from payymo.services.dedupe import normalise_text
from payymo.tenancy import current_tenant_id

_MATCHED = ("matched", "partially_matched")
# A booked line replaces its pending twin, even one that expired while the bank hid it.
_REPLACEABLE = ("pending", "expired")
# Columns a supersede copies from the booked line; a matched line keeps its text.
_DATES = ("booking_date", "value_date")
_TEXT = ("counterparty_name", "counterparty_iban", "remittance_information", "end_to_end_id")
# A pending line is paired with a booked one no more than this many days apart.
PAIR_DAYS = 14
# Rows per insert: the server inserts one batch while the next one's events are rendered.
_BATCH = 20_000


@dataclass
class IngestResult:
    """What one page did to an account."""

    created: int = 0
    known: int = 0
    superseded: int = 0
    expired: int = 0
    credits_created: int = 0
    latest_booking_date: dt.date | None = None
    created_ids: list[str] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        """Counts, as a job result shows them."""
        return {
            "created": self.created,
            "known": self.known,
            "superseded": self.superseded,
            "expired": self.expired,
        }


@dataclass
class _Existing:
    id: str
    key: str
    status: str
    match_status: str
    amount: int
    currency: str
    day: dt.date | None
    text: str


def pending_key(key: str) -> str:
    """A pending line's key: its own namespace, so a booked twin in one page is not lost."""
    if len(key) < dedupe.KEY_MAX_LENGTH:
        return "p" + key
    return "pidh:" + hashlib.sha256(key.encode()).hexdigest()


def _text(row) -> str:
    return normalise_text(
        f"{row.get('counterparty_name') or ''} {row.get('remittance_information') or ''}"
    )


def _load_existing(
    session: Session, account_id: str, since: dt.date | None
) -> tuple[set[str], list[_Existing]]:
    """Keys of the account's settled lines, and its pending and expired lines in full.

    A re-sync meets every line again: settled ones only need recognising by key.
    """
    t = Transaction
    keys = select(t.dedupe_key).where(t.account_id == account_id, t.status.not_in(_REPLACEABLE))
    if since is not None:
        # History before the page's first day cannot collide.
        keys = keys.where(or_(t.booking_date >= since, t.booking_date.is_(None)))
    settled = set(session.scalars(keys))
    stmt = select(
        t.id,
        t.dedupe_key,
        t.status,
        t.match_status,
        t.amount,
        t.currency,
        t.booking_date,
        t.counterparty_name,
        t.remittance_information,
    ).where(t.account_id == account_id, t.status.in_(_REPLACEABLE))
    replaceable = []
    for r in session.execute(stmt):
        # Only a pending line is ever paired by its text.
        text = _text({"counterparty_name": r[7], "remittance_information": r[8]})
        replaceable.append(_Existing(*r[:7], text if r[2] == "pending" else ""))
    return settled, replaceable


def _pair(row: dict, vanished: dict[tuple, list[_Existing]]) -> _Existing | None:
    """The vanished pending line this booked row replaces: same amount, closest text and day."""
    candidates = vanished.get((row["amount"], row["currency"]))
    if not candidates:
        return None
    text = _text(row)
    day = row.get("booking_date")

    def distance(p: _Existing) -> tuple:
        days = abs((day - p.day).days) if day and p.day else 0
        return (p.text != text, days)

    best = min(candidates, key=distance)
    if best.day and day and abs((day - best.day).days) > PAIR_DAYS:
        return None
    candidates.remove(best)
    return best


def _supersede(session: Session, old: _Existing, row: dict, key: str, now) -> None:
    values = {
        "status": "booked",
        "dedupe_key": key,
        "provider_id": dedupe.clean_id(row.get("id")),
        "raw": row.get("raw"),
        "updated_at": now,
        **{name: row.get(name) for name in _DATES},
    }
    if old.match_status not in _MATCHED:
        values.update({name: row.get(name) for name in _TEXT})
    session.execute(update(Transaction).where(Transaction.id == old.id).values(**values))
    txn = session.get(Transaction, old.id, populate_existing=True)
    events.emit(
        session,
        "transaction.updated",
        {"object": document(txn), "previous_attributes": {"status": old.status}},
    )


def _expire(session: Session, old: _Existing, now) -> None:
    session.execute(
        update(Transaction).where(Transaction.id == old.id).values(status="expired", updated_at=now)
    )
    txn = session.get(Transaction, old.id, populate_existing=True)
    events.emit(
        session,
        "transaction.updated",
        {"object": document(txn), "previous_attributes": {"status": "pending"}},
    )


def ingest_page(
    *, session: Session, account_id: str, currency: str, page: TransactionPage
) -> tuple[IngestResult, list[Problem]]:
    """Write a provider's page into the account; answers what it did and the lines refused.

    A booked line whose provider id is already settled here is counted as known before
    it is even converted: a re-sync meets every line again.
    """
    days = [line.booking_date for line in page.booked if line.booking_date]
    existing = _load_existing(session, account_id, min(days) if days else None)
    settled = existing[0]
    fresh, known_days = [], []
    for line in page.booked:
        line_id = dedupe.clean_id(line.id)
        if line_id is not None and dedupe.id_key(line_id) in settled:
            known_days.append(line.booking_date)
        else:
            fresh.append(line)
    booked, pending, problems = rows_from_page(replace(page, booked=tuple(fresh)), currency)
    result = ingest(
        session=session,
        account_id=account_id,
        currency=currency,
        booked=booked,
        pending=pending,
        existing=existing,
    )
    result.known += len(page.booked) - len(fresh)
    latest = [d for d in (result.latest_booking_date, *known_days) if d]
    result.latest_booking_date = max(latest) if latest else None
    return result, problems


def ingest(
    *,
    session: Session,
    account_id: str,
    currency: str,
    booked: list[dict],
    pending: list[dict],
    existing: tuple[set[str], list[_Existing]] | None = None,
) -> IngestResult:
    """Write ``booked`` and ``pending`` rows (``lines.to_row`` form) into the account.

    The caller holds the account's lock and commits; the pending list must be complete
    (the bank's whole current pending list), since lines missing from it expire.
    ``existing`` is what ``_load_existing`` answered for these rows' dates, if read.
    """
    result = IngestResult()
    booked_keys = dedupe.dedupe_keys(booked)
    pending_keys = [pending_key(key) for key in dedupe.dedupe_keys(pending)]
    days = [row["booking_date"] for row in booked if row.get("booking_date")]
    result.latest_booking_date = max(days) if days else None
    if existing is None:
        existing = _load_existing(session, account_id, min(days) if days else None)
    settled, replaceable = existing
    by_key = {item.key: item for item in replaceable}
    pending_now = set(pending_keys)
    now = utcnow()
    vanished: dict[tuple, list[_Existing]] = defaultdict(list)
    for item in replaceable:
        if item.status == "pending" and item.key not in pending_now:
            vanished[(item.amount, item.currency)].append(item)
    new_rows: list[tuple[dict, str]] = []
    for row, key in zip(booked, booked_keys, strict=True):
        if key in settled:
            result.known += 1
            continue
        old = by_key.get(key)
        if old is None:
            twin = pending_key(key)
            if twin in settled:
                result.known += 1
                continue
            old = by_key.get(twin)
        if old is None:
            old = _pair(row, vanished) if vanished else None
        else:
            vanished[(old.amount, old.currency)] = [
                p for p in vanished[(old.amount, old.currency)] if p.id != old.id
            ]
        if old is not None:
            _supersede(session, old, row, key, now)
            result.superseded += 1
            continue
        new_rows.append((row, key))
    for row, key in zip(pending, pending_keys, strict=True):
        if key in settled or key in by_key:
            result.known += 1
        else:
            new_rows.append((row, key))
    for items in vanished.values():
        for old in items:
            if old.match_status in _MATCHED:
                continue  # money someone matched stays as it is
            _expire(session, old, now)
            result.expired += 1
    _insert(session, account_id, new_rows, now, result)
    return result


def new_record(row: dict, *, account_id: str, key: str, now) -> dict:
    """The ``transactions`` row for a new line (``lines.to_row`` form) keyed ``key``."""
    return {
        "id": new_id("txn"),
        "tenant_id": current_tenant_id(),
        "account_id": account_id,
        "dedupe_key": key,
        "provider_id": dedupe.clean_id(row.get("id")),
        "status": row["status"],
        "booking_date": row.get("booking_date"),
        "value_date": row.get("value_date"),
        "amount": row["amount"],
        "amount_allocated": 0,
        "currency": row["currency"],
        "counterparty_name": row.get("counterparty_name"),
        "counterparty_iban": row.get("counterparty_iban"),
        "remittance_information": row.get("remittance_information"),
        "end_to_end_id": row.get("end_to_end_id"),
        "raw": row.get("raw"),
        "match_status": "unmatched",
        "category": None,
        "notes": None,
        "created_at": now,
        "updated_at": now,
    }


def _insert(session: Session, account_id: str, new_rows, now, result: IngestResult) -> None:
    if not new_rows:
        return
    records = [new_record(row, account_id=account_id, key=key, now=now) for row, key in new_rows]
    created = insert_with_events(session, records)
    result.created = len(created)
    result.known += len(records) - len(created)
    result.credits_created = sum(1 for record in created if record["amount"] > 0)
    result.created_ids = [record["id"] for record in created]


def insert_with_events(
    session: Session, records: list[dict], *, meanwhile: Callable[[], object] | None = None
) -> list[dict]:
    """Insert the records and a ``transaction.created`` event for each one inserted.

    In batches, so the server inserts one batch while the next batch's events are
    rendered here (and ``meanwhile``, the caller's own next work, is done);
    answers the records actually inserted.
    """
    batches = [records[i : i + _BATCH] for i in range(0, len(records), _BATCH)]
    events_of = Ahead(_event_rows(batch) for batch in batches)

    def work() -> None:
        events_of.advance()
        if meanwhile is not None:
            meanwhile()

    created: list[dict] = []
    for index, batch in enumerate(batches):
        inserted = bulk.insert_ignoring_conflicts(
            session,
            Transaction.__table__,
            batch,
            conflict=("account_id", "dedupe_key"),
            json_columns=("raw",),
            meanwhile=work,
        )
        created.extend(record for record in batch if record["id"] in inserted)
        rows = [row for row in events_of.get(index) if row["data"]["object"]["id"] in inserted]
        bulk.insert_ignoring_conflicts(
            session, Event.__table__, rows, json_columns=("data",), meanwhile=work
        )
    if created:
        events.mark_emitted(session)
    return created


class Ahead:
    """The items of an iterator, each computed on demand or earlier when there is time."""

    def __init__(self, items):
        self._items = iter(items)
        self._done: list = []

    def advance(self) -> None:
        """Compute the next item, if any is left."""
        for item in self._items:
            self._done.append(item)
            return

    def get(self, index: int):
        """Item ``index``, computed now if it was not yet."""
        while len(self._done) <= index:
            before = len(self._done)
            self.advance()
            if len(self._done) == before:
                raise IndexError(index)
        return self._done[index]


def _event_rows(records: list[dict]) -> list[dict]:
    request_id = request_id_var.get()
    return [
        {
            "id": new_id("evt"),
            "tenant_id": record["tenant_id"],
            "type": "transaction.created",
            "data": {"object": document(SimpleNamespace(**record))},
            "request_id": request_id,
            "created_at": record["created_at"],
        }
        for record in records
    ]
