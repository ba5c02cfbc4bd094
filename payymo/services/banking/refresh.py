"""Ask for a sync now: a job, or a clear answer why not and when it can be."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo import runtime
from payymo.db import utcnow
from payymo.errors import Conflict, RateLimited
from payymo.models import BankConnection, Job, ProviderAccount
from payymo.services import jobs
from payymo.services.banking import budget
from payymo.services.banking.wording import until
from payymo.tenancy import get_for_update_or_404


def request_refresh(*, session: Session, connection_id: str) -> Job:
    """Queue a sync of a linked connection, unless every account's daily budget is used up."""
    conn = get_for_update_or_404(session, BankConnection, connection_id)
    if conn.status != "linked":
        raise Conflict(
            f"Connection '{conn.id}' is {conn.status}; only a linked connection can be synced"
            + (" (reconnect it first)." if conn.status in ("expired", "suspended") else "."),
            code="connection_not_linked",
        )
    now = utcnow()
    links = session.scalars(
        select(ProviderAccount).where(
            ProviderAccount.connection_id == conn.id,
            ProviderAccount.provider_account_id.is_not(None),
        )
    ).all()
    if links:
        ready = min(budget.available_at(link, "transactions", now) for link in links)
        if ready > now:
            seconds = int((ready - now).total_seconds()) + 1
            raise RateLimited(
                f"The bank allows {runtime.settings().bank_sync_daily_budget} syncs a "
                f"day per account; the next sync of '{conn.id}' is possible at "
                f"{until(ready)} ({ready.isoformat()}).",
                code="bank_sync_limit",
                headers={"Retry-After": str(seconds)},
            )
    return jobs.request_bank_sync(session=session, connection_id=conn.id, reason="refresh")
