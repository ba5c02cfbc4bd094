"""The bank sync scheduler's pass: start due syncs, warn of and mark expiring consents.

Runs across tenants (``due`` in system scope), then acts per connection in its tenant's
scope under the connection's row lock (SKIP LOCKED), re-checking what it read. Syncs are
spread by each connection's ``next_sync_at`` (the day divided by the account budget).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from payymo.models import BankConnection, Tenant
from payymo.services import jobs
from payymo.services.banking.events import emit_connection

EXPIRING_NOTICE = dt.timedelta(days=7)


def due(*, session: Session, now: dt.datetime) -> list[tuple[str, str]]:
    """(tenant id, connection id) of linked connections with something to do (system scope)."""
    c = BankConnection
    stmt = (
        select(c.tenant_id, c.id)
        .join(Tenant, Tenant.id == c.tenant_id)
        .where(
            Tenant.status == "active",
            c.status == "linked",
            or_(
                c.next_sync_at <= now,
                c.access_expires_at <= now,
                and_(
                    c.access_expires_at <= now + EXPIRING_NOTICE, c.expiring_notified_at.is_(None)
                ),
            ),
        )
        .order_by(c.next_sync_at)
    )
    return [(tenant_id, conn_id) for tenant_id, conn_id in session.execute(stmt)]


def visit(*, session: Session, connection_id: str, now: dt.datetime) -> str:
    """Act on one connection (tenant scope): expire, warn, or request its sync."""
    conn = session.scalars(
        select(BankConnection)
        .where(BankConnection.id == connection_id)
        .with_for_update(skip_locked=True)
    ).first()
    if conn is None or conn.status != "linked":
        return "skipped"
    if conn.access_expires_at is not None and conn.access_expires_at <= now:
        previous = {"status": conn.status}
        conn.status = "expired"
        conn.next_sync_at = None
        conn.last_error = (
            "The consent at the bank has expired; reconnect to keep transactions flowing."
        )
        conn.last_error_code = "consent_expired"
        emit_connection(session, conn, "bank_connection.expired", previous)
        return "expired"
    outcome = "waiting"
    if (
        conn.access_expires_at is not None
        and conn.access_expires_at <= now + EXPIRING_NOTICE
        and conn.expiring_notified_at is None
    ):
        conn.expiring_notified_at = now
        emit_connection(session, conn, "bank_connection.expiring")
        outcome = "expiring"
    if conn.next_sync_at is not None and conn.next_sync_at <= now:
        jobs.request_bank_sync(session=session, connection_id=conn.id, reason="scheduled")
        # Not due again until the sync sets the real next time (or the sweep retries it).
        conn.next_sync_at = now + dt.timedelta(hours=1)
        outcome = "sync_requested"
    return outcome
