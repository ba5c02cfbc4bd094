"""Transactions: list, update, import statements into manual accounts, stats."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, bindparam, case, func, or_, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from payymo import events
from payymo.db import custom_plans, utcnow
from payymo.errors import Conflict, InvalidRequest
from payymo.ids import new_id
from payymo.models import BankAccount, Transaction
from payymo.pagination import Page, Spread, paginate
from payymo.representations.transactions import transaction as document
from payymo.services import dedupe, jobs, search, search_indexes
from payymo.services.batch import RowResult, failed_row
from payymo.services.rollups import read as rollups
from payymo.tenancy import get_for_update_or_404, get_or_404

EDITABLE = ("category", "notes")
IMPORTED = (
    "status",
    "booking_date",
    "value_date",
    "amount",
    "currency",
    "counterparty_name",
    "counterparty_iban",
    "remittance_information",
    "end_to_end_id",
    "category",
    "notes",
)
_LOCKED_BY_MATCH = ("matched", "partially_matched")
# A date or amount range of at most SPREAD_VALUES values, for a tenant of SPREAD_FROM
# lines or more, is paged value by value (pagination.Spread, on PostgreSQL): one index
# descent per value, about 5 us each. A smaller tenant's range holds few lines, which
# the plain plan reads and sorts in less; a wider range holds so many that a walk from
# the newest line soon fills a page. Measured in benchmarks/scale.py.
SPREAD_VALUES = 1_000
SPREAD_FROM = 100_000
KEY_CHUNK = 5_000
# What each line of an import became (JSON lines and statement files alike).
IMPORT_ROW_STATUSES = ("created", "duplicate", "error")  # dedupe keys looked up per statement


def _texts(q: str) -> tuple[str, str, str]:
    """A search's text per column of ``search_indexes.TRANSACTIONS`` (the IBAN normalised)."""
    return (q, q, "".join(q.split()).upper())


def _filtered(session: Session, stmt, filters: dict, model=Transaction, found=None):
    """``stmt`` under every filter; ``found`` is the search's ``search.lookup``, if known."""
    for name in ("account_id", "status", "match_status", "currency"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(model, name) == filters[name])
    if filters.get("direction") == "in":
        stmt = stmt.where(model.amount >= 0)
    elif filters.get("direction") == "out":
        stmt = stmt.where(model.amount < 0)
    ranges = (
        ("booking_date_from", model.booking_date, True),
        ("booking_date_to", model.booking_date, False),
        ("amount_min", model.amount, True),
        ("amount_max", model.amount, False),
    )
    for name, column, lower in ranges:
        if filters.get(name) is not None:
            value = filters[name]
            stmt = stmt.where(column >= value if lower else column <= value)
    if filters.get("q"):
        texts = _texts(filters["q"])
        stmt = search.restrict(session, stmt, search_indexes.TRANSACTIONS, model, texts, found)
    return stmt


def _by_name(session: Session, filters: dict, found: search.Lookup) -> Spread:
    """A search's page read name by name (``search_names``), the other columns' finds
    merged in: as far as the page needs, not every line of the payer."""
    rest = {name: value for name, value in filters.items() if name != "q"}
    return Spread(
        values=found.names,
        key=lambda alias: alias.counterparty_name,
        select_ids=lambda alias: _filtered(session, select(alias.id), rest, alias),
        also=lambda alias: search.others(
            found, alias, _filtered(session, select(alias.id), rest, alias)
        ),
    )


def _spread(session: Session, filters: dict, found) -> Spread | None:
    """The short booking-date or amount range with the fewest values, to page by value;
    or a search's few names.

    Any other search is read through its own index instead (see ``SPREAD_VALUES`` for
    the rest).
    """
    if found is not None:
        return _by_name(session, filters, found) if found.names else None
    candidates = []
    low, high = filters.get("booking_date_from"), filters.get("booking_date_to")
    if low is not None and high is not None and (high - low).days < SPREAD_VALUES:
        days = [low + dt.timedelta(days=n) for n in range((high - low).days + 1)]
        candidates.append((days, lambda alias: alias.booking_date))
    low, high = filters.get("amount_min"), filters.get("amount_max")
    if low is not None and high is not None and high - low < SPREAD_VALUES:
        candidates.append((list(range(low, high + 1)), lambda alias: alias.amount))
    if not candidates or rollups.total(session, "transactions")[0] < SPREAD_FROM:
        return None
    values, key = min(candidates, key=lambda c: len(c[0]))
    return Spread(
        values=values,
        key=key,
        select_ids=lambda alias: _filtered(session, select(alias.id), filters, alias),
    )


def list_transactions(*, session: Session, filters: dict, page: dict) -> Page:
    """Filtered, newest-first page of transactions."""
    found = None
    if filters.get("q"):
        found = search.lookup(session, search_indexes.TRANSACTIONS, _texts(filters["q"]))
    stmt = _filtered(session, select(Transaction), filters, found=found)
    return paginate(
        session,
        stmt,
        Transaction,
        prefix="txn",
        spread=_spread(session, filters, found),
        **page,
    )


def _match_status_after(txn: Transaction, ignored: bool | None) -> str:
    if ignored is True and txn.match_status in _LOCKED_BY_MATCH:
        raise Conflict(
            "A matched transaction cannot be ignored; reverse its matches first.",
            param="ignored",
            code="transaction_matched",
        )
    if ignored is True:
        return "ignored"
    if ignored is False and txn.match_status == "ignored":
        return "unmatched"
    return txn.match_status


def update_transaction(*, session: Session, transaction_id: str, changes: dict) -> Transaction:
    """Set category/notes/ignored under the row lock; emits ``transaction.updated``.

    ``ignored: false`` only reverts an ignored transaction; it never touches a match.
    """
    txn = get_for_update_or_404(session, Transaction, transaction_id)
    wanted = {name: changes[name] for name in EDITABLE if name in changes}
    wanted["match_status"] = _match_status_after(txn, changes.get("ignored"))
    previous = {}
    for name, value in wanted.items():
        if getattr(txn, name) != value:
            previous[name] = getattr(txn, name)
            setattr(txn, name, value)
    if previous:
        txn.updated_at = utcnow()
        session.flush()
        events.emit(
            session,
            "transaction.updated",
            {"object": document(txn), "previous_attributes": previous},
        )
    return txn


def import_account(session: Session, account_id: str) -> BankAccount:
    """The manual account statements may be imported into (404, or 409 for a synced one)."""
    account = get_or_404(session, BankAccount, account_id, param="account_id")
    if account.kind != "manual":
        raise Conflict(
            f"Bank account '{account.id}' is synced from its bank; "
            "statements can only be imported into a manual account.",
            param="account_id",
            code="account_not_manual",
        )
    return account


def _new_transaction(account: BankAccount, data: dict, key: str, now) -> Transaction:
    return Transaction(
        id=new_id("txn"),
        created_at=now,
        updated_at=now,
        account_id=account.id,
        dedupe_key=key,
        provider_id=dedupe.clean_id(data.get("id")),
        match_status="unmatched",
        amount_allocated=0,
        **{name: data.get(name) for name in IMPORTED},
    )


def existing_keys(session: Session, account_id: str, keys: list[str]) -> dict[str, str]:
    """The ids of the account's lines already holding any of these dedupe keys.

    On PostgreSQL the keys go as one array, joined to the account's lines, planned for
    the values at hand. An IN list of bound values is compared row by row with every
    key, and once psycopg prepares the statement (its fifth run on a connection) the
    generic plan may loop over the account's lines per key: 20,000 keys against an
    account of 100,000 lines took 21 s that way; planned for the values, 0.3 s.
    """
    t = Transaction
    unique = sorted(set(keys))
    if not unique:
        return {}
    if session.get_bind().dialect.name != "postgresql":
        found: dict[str, str] = {}
        for start in range(0, len(unique), KEY_CHUNK):
            chunk = unique[start : start + KEY_CHUNK]
            stmt = select(t.dedupe_key, t.id).where(
                t.account_id == account_id, t.dedupe_key.in_(chunk)
            )
            found.update(dict(session.execute(stmt).all()))
        return found
    wanted = func.unnest(bindparam("keys", unique, type_=ARRAY(String)))
    wanted = wanted.table_valued("key").render_derived()
    stmt = select(t.dedupe_key, t.id).join_from(t, wanted, t.dedupe_key == wanted.c.key)
    with custom_plans(session):
        return dict(session.execute(stmt.where(t.account_id == account_id)).all())


def import_transactions(
    *, session: Session, account_id: str, rows: list[tuple[int, dict]]
) -> list[RowResult]:
    """Import parsed statement lines into a manual account, skipping duplicates.

    ``rows`` are ``(index, data)`` pairs. Duplicates of lines already in the account, or
    earlier in the batch, answer ``duplicate`` with the existing id; a failing row spoils
    no other. One query finds existing keys, one flush writes the new lines.
    """
    account = import_account(session, account_id)
    results: list[RowResult] = []
    accepted: list[tuple[int, dict]] = []
    for index, data in rows:
        if data["currency"] == account.currency:
            accepted.append((index, data))
            continue
        exc = InvalidRequest(
            f"currency {data['currency']} does not match the account's {account.currency}.",
            param="currency",
            code="currency_mismatch",
        )
        results.append(failed_row(exc, index=index, prefix="transactions"))
    keys = dedupe.dedupe_keys(data for _, data in accepted)
    known = existing_keys(session, account.id, keys)
    now = utcnow()
    for (index, data), key in zip(accepted, keys, strict=True):
        if key in known:
            results.append(RowResult(index, "duplicate", known[key]))
            continue
        txn = _new_transaction(account, data, key, now)
        session.add(txn)
        events.emit(session, "transaction.created", {"object": document(txn)})
        known[key] = txn.id
        results.append(RowResult(index, "created", txn.id))
    session.flush()
    if any(r.status == "created" for r in results):
        jobs.request_reconcile(session=session, reason="transactions_imported")
    return sorted(results, key=lambda r: r.index)


def _bucket(groups: dict, key: tuple, row: tuple) -> None:
    currency, direction, count, amount = row
    bucket = groups.setdefault(
        key, {"currency": currency, "count": 0, "amount": 0, "amount_in": 0, "amount_out": 0}
    )
    bucket["count"] += count
    bucket["amount"] += amount
    bucket[f"amount_{direction}"] += amount


# Filters the rollups can answer; amount ranges and ``q`` need the rows themselves.
_ROW_ONLY_FILTERS = ("amount_min", "amount_max", "q")


def _month_bounds(start: dt.date | None, end: dt.date | None) -> tuple[str, str] | None:
    """The first and last whole months inside [start, end] as YYYY-MM, or None."""
    first = start if start is None or start.day == 1 else _next_month(start)
    last = end
    if last is not None and _next_month(last) - dt.timedelta(days=1) != last:
        last = last.replace(day=1) - dt.timedelta(days=1)
    low = "0000-00" if first is None else first.strftime("%Y-%m")
    high = "9999-99" if last is None else last.strftime("%Y-%m")
    return (low, high) if low <= high else None


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _edge_spans(filters: dict, months: tuple[str, str] | None) -> list[tuple[str, str]]:
    """The days (YYYY-MM-DD ranges) of a date filter that its whole months leave out."""
    start, end = filters.get("booking_date_from"), filters.get("booking_date_to")
    low, high = start or dt.date(1, 1, 1), end or dt.date(9999, 12, 31)
    if months is None:
        return [(low.isoformat(), high.isoformat())]
    spans = []
    if start is not None:
        first = dt.date(int(months[0][:4]), int(months[0][5:]), 1)
        if low < first:
            spans.append((low.isoformat(), (first - dt.timedelta(days=1)).isoformat()))
    if end is not None:
        after = _next_month(dt.date(int(months[1][:4]), int(months[1][5:]), 1))
        if after <= high:
            spans.append((after.isoformat(), high.isoformat()))
    return spans


def _rollup_where(filters: dict, model) -> list:
    conditions = []
    for name, column in (
        ("account_id", model.account_id),
        ("status", model.status),
        ("match_status", model.detail),
        ("currency", model.currency),
    ):
        if filters.get(name) is not None:
            conditions.append(column == filters[name])
    if filters.get("direction") == "in":
        conditions.append(model.direction.in_(("in", "zero")))
    elif filters.get("direction") == "out":
        conditions.append(model.direction == "out")
    return conditions


def _rollup_rows(session: Session, filters: dict) -> list[tuple]:
    """Stats rows from rollups: whole months from the monthly groups, the rest by day."""
    dated = filters.get("booking_date_from") or filters.get("booking_date_to")
    months = _month_bounds(filters.get("booking_date_from"), filters.get("booking_date_to"))
    parts = []
    if not dated:
        parts.append(("transactions", lambda model: _rollup_where(filters, model)))
    else:
        if months is not None:
            parts.append(
                (
                    "transactions",
                    lambda model: [*_rollup_where(filters, model), model.month.between(*months)],
                )
            )
        spans = _edge_spans(filters, months)
        if spans:
            parts.append(
                (
                    "transactions_daily",
                    lambda model: [
                        *_rollup_where(filters, model),
                        or_(*(model.month.between(a, b) for a, b in spans)),
                    ],
                )
            )
    rows = []
    for subject, where in parts:
        found = rollups.groups(
            session, subject, by=("currency", "detail", "direction", "month"), where=where
        )
        rows += [
            (currency, status, "out" if direction == "out" else "in", month[:7] or None, n, amount)
            for currency, status, direction, month, n, amount, _allocated in found
        ]
    return rows


def _row_stats(session: Session, filters: dict) -> list[tuple]:
    """Stats rows counted from the lines (amount and text filters need them)."""
    month = func.substr(func.cast(Transaction.booking_date, String), 1, 7)
    # One expression object in SELECT and GROUP BY, so PostgreSQL sees the same binds.
    flow = case((Transaction.amount < 0, "out"), else_="in")
    keys = (Transaction.currency, Transaction.match_status, flow, month)
    stmt = _filtered(session, select(*keys, func.count(), func.sum(Transaction.amount)), filters)
    return [
        (currency, status, direction, label, int(count), int(amount))
        for currency, status, direction, label, count, amount in session.execute(
            stmt.group_by(*keys)
        )
    ]


def transaction_stats(*, session: Session, filters: dict) -> dict:
    """Counts and sums by currency, match status, direction and booking month.

    Every group includes the currency, so amounts of different currencies never add up.
    Read from the rollups (whole months, and a date filter's other days by day), so the
    cost does not grow with the tenant; amount or text filters count the matching lines.
    """
    if any(filters.get(name) is not None for name in _ROW_ONLY_FILTERS):
        rows = _row_stats(session, filters)
    else:
        rows = _rollup_rows(session, filters)
    by: dict[str, dict] = {"currency": {}, "match_status": {}, "direction": {}, "month": {}}
    total = 0
    for currency, match_status, direction, label, count, amount in rows:
        total += count
        row = (currency, direction, count, amount)
        _bucket(by["currency"], (currency,), row)
        _bucket(by["direction"], (direction, currency), row)
        _bucket(by["match_status"], (match_status, currency), row)
        _bucket(by["month"], (label or "", currency), row)
    return {
        "count": total,
        "by_currency": [by["currency"][k] for k in sorted(by["currency"])],
        "by_direction": [{"direction": k[0], **v} for k, v in sorted(by["direction"].items())],
        "by_match_status": [
            {"match_status": k[0], **v} for k, v in sorted(by["match_status"].items())
        ],
        "by_month": [{"month": k[0] or None, **v} for k, v in sorted(by["month"].items())],
    }
