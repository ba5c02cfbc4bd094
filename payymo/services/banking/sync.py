"""Sync a bank connection: fetch within each account's budget, then write it all at once.

Provider calls happen outside any database transaction (under the connection's sync
lock); the writes — transactions, balances, budget, status, events — land in one
transaction afterwards. A provider outage mid-way imports nothing and raises
``SyncRetry`` after recording the calls that did count against the budget.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload

from integrations.banking import (
    BankProvider,
    BankProviderError,
    InstitutionError,
    MalformedData,
    ProviderUnavailable,
    RateLimited,
    TransactionPage,
)
from payymo import money
from payymo.db import utcnow
from payymo.errors import PayymoError
from payymo.models import BankConnection, ProviderAccount
from payymo.models.banking import SYNCABLE
from payymo.money import MoneyError
from payymo.services import jobs, table_statistics
from payymo.services.banking import budget, schedule, wording
from payymo.services.banking.events import emit_connection
from payymo.services.banking.ingest import ingest_page
from payymo.services.banking.providers import provider_for
from payymo.services.banking.sync_lock import try_sync_lock
from payymo.tenancy import get_for_update_or_404, get_or_404

log = logging.getLogger(__name__)
# Worth retrying: the provider or the bank failed, not the request.
TRANSIENT = (ProviderUnavailable, InstitutionError, MalformedData)


class SyncRetry(PayymoError):
    """The provider failed transiently; the job retries later (nothing was imported)."""

    status, type, code = 502, "provider_error", "provider_unavailable"


@dataclass
class _Plan:
    account_id: str
    provider_account_id: str
    currency: str
    date_from: dt.date
    balances_left: int
    transactions_left: int
    transactions_at: dt.datetime


@dataclass
class _Fetched:
    plan: _Plan
    calls: list[str] = field(default_factory=list)
    balances: list | None = None
    page: TransactionPage | None = None
    limited_until: dt.datetime | None = None


def _plans(conn: BankConnection, now: dt.datetime) -> list[_Plan]:
    plans = []
    for link in conn.links:
        if link.provider_account_id is None:
            continue
        plans.append(
            _Plan(
                account_id=link.account_id,
                provider_account_id=link.provider_account_id,
                currency=link.account.currency,
                date_from=schedule.window_start(
                    now.date(), link.synced_through, conn.max_historical_days
                ),
                balances_left=budget.remaining(link, "balances", now),
                transactions_left=budget.remaining(link, "transactions", now),
                transactions_at=budget.available_at(link, "transactions", now),
            )
        )
    return plans


def _fetch(provider: BankProvider, plans: list[_Plan], now: dt.datetime):
    """Call the provider for every account; stop at the first error that is not a limit."""
    fetched = []
    for plan in plans:
        item = _Fetched(plan)
        fetched.append(item)
        if plan.transactions_left <= 0:
            item.limited_until = plan.transactions_at
            continue
        try:
            if plan.balances_left > 0:
                item.balances = provider.balances(plan.provider_account_id)
                item.calls.append("balances")
            item.page = provider.transactions(
                plan.provider_account_id, date_from=plan.date_from, date_to=now.date()
            )
            item.calls.append("transactions")
        except RateLimited as exc:
            seconds = exc.retry_after if exc.retry_after is not None else 3600
            item.limited_until = now + dt.timedelta(seconds=seconds)
        except BankProviderError as exc:
            return fetched, exc
    return fetched, None


def sync_connection(*, session: Session, connection_id: str) -> dict:
    """Sync every account of a linked connection; answers what it did, per account."""
    with try_sync_lock(session, connection_id) as got:
        if not got:
            return {"skipped": "already_syncing"}
        conn = get_or_404(session, BankConnection, connection_id)
        if conn.status not in SYNCABLE:
            return {"skipped": f"connection_{conn.status}"}
        now = utcnow()
        plans = _plans(conn, now)
        provider = provider_for(session, conn.provider)
        session.rollback()  # no transaction stays open while the provider answers
        fetched, error = _fetch(provider, plans, now)
        result = _write(session, connection_id, fetched, error, now)
    if isinstance(error, TRANSIENT):
        session.commit()  # keep the budget and the error before the job retries
        raise SyncRetry(wording.describe(error))
    return result


def _locked_links(session: Session, conn: BankConnection) -> dict[str, ProviderAccount]:
    stmt = (
        select(ProviderAccount)
        .where(ProviderAccount.connection_id == conn.id)
        .order_by(ProviderAccount.account_id)
        .options(lazyload(ProviderAccount.account))  # FOR UPDATE refuses an outer join
        .with_for_update()
    )
    return {link.account_id: link for link in session.scalars(stmt)}


def _write(session, connection_id, fetched, error, now) -> dict:
    conn = get_for_update_or_404(session, BankConnection, connection_id)
    links = _locked_links(session, conn)
    previous = {"status": conn.status}
    accounts, problems, credits, limited = [], [], 0, []
    for item in fetched:
        link = links.get(item.plan.account_id)
        if link is None:
            continue
        for scope in item.calls:
            budget.record(link, scope, now)
        if item.limited_until is not None:
            limited.append(item.limited_until)
            if item.plan.transactions_left > 0:
                budget.exhaust(link, "transactions", now, item.limited_until)
        if error is not None or item.page is None:
            continue
        summary, count = _store(session, link, item, now)
        accounts.append(summary)
        problems.extend(summary["problems"])
        credits += count
    if error is not None:
        code, status = wording.outcome(error)
        conn.last_error, conn.last_error_code = wording.describe(error), code
        if status is not None:
            conn.status = status
            conn.next_sync_at = None
            kind = "expired" if status == "expired" else "updated"
            emit_connection(session, conn, f"bank_connection.{kind}", previous)
        elif isinstance(error, TRANSIENT):
            conn.next_sync_at = now + dt.timedelta(minutes=15)
        log.warning("bank sync failed", extra={"connection_id": conn.id, "code": code})
        return {"connection_id": conn.id, "error": code}
    conn.last_synced_at = now
    not_before = max(limited) if limited else None
    conn.next_sync_at = schedule.next_sync(now, not_before=not_before)
    _set_outcome(conn, problems, limited, accounts)
    if any(summary["created"] for summary in accounts):
        # A tenant's first syncs can grow the table tenfold: the next sync's reads and the
        # reconcile run this queues plan on statistics that know it (table_statistics).
        table_statistics.refresh_if_stale(session=session, tables=("transactions",))
    if credits:
        jobs.request_reconcile(session=session, reason="bank_sync")
    return {"connection_id": conn.id, "accounts": accounts}


def _set_outcome(conn, problems, limited, accounts) -> None:
    if limited and not accounts:
        conn.last_error = (
            "The bank data provider's daily limit for this connection's accounts is used "
            f"up until {wording.until(max(limited))}; the next sync waits for it."
        )
        conn.last_error_code = "rate_limited"
    elif problems:
        first = problems[0]["reason"]
        conn.last_error = (
            f"{len(problems)} line(s) from the bank could not be read and were skipped "
            f"(first: {first}); the rest were imported."
        )
        conn.last_error_code = "malformed_transactions"
    else:
        conn.last_error = conn.last_error_code = None


def _store(session: Session, link: ProviderAccount, item: _Fetched, now) -> tuple[dict, int]:
    result, problems = ingest_page(
        session=session, account_id=link.account_id, currency=item.plan.currency, page=item.page
    )
    if item.balances is not None:
        link.balances = [_balance(b) for b in item.balances]
        link.balances_updated_at = now
    if result.latest_booking_date and (
        link.synced_through is None or result.latest_booking_date > link.synced_through
    ):
        link.synced_through = result.latest_booking_date
    link.last_synced_at = now
    summary = {"account_id": link.account_id, **result.as_dict()}
    summary["problems"] = [p.as_dict() for p in problems]
    return summary, result.credits_created + result.superseded


def _balance(balance) -> dict:
    currency = (balance.currency or "").upper()
    try:
        amount = money.to_minor(balance.amount, currency)
    except MoneyError:
        amount = None  # a balance the bank misreports is shown as unknown, not guessed
    return {
        "kind": balance.kind,
        "amount": amount,
        "amount_display": money.to_display(amount, currency) if amount is not None else None,
        "currency": currency,
        "reference_date": balance.reference_date.isoformat() if balance.reference_date else None,
    }
