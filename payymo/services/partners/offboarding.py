"""Offboarding a partner's tenant: access ends now, its data goes after a retention period.

Offboarding revokes the tenant's API keys and withdraws its bank consents at the
provider (a consent the provider will not withdraw is still stopped here, and said so),
marks the tenant ``offboarded`` and sets when it is purged. The purge job deletes the
tenant's rows (every tenant table cascades from ``tenants``) and keeps a record: who
owned it, when it was offboarded and purged, and how much was deleted.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from payymo import runtime
from payymo.db import utcnow
from payymo.errors import PayymoError
from payymo.models import ApiKey, BankConnection, Invoice, Tenant, TenantOffboarding, Transaction
from payymo.services.banking import connections
from payymo.services.rollups import upkeep as rollup_upkeep
from payymo.tenancy import system_scope, tenant_scope
from payymo.tenancy.partners import owned_tenant

log = logging.getLogger(__name__)


def offboard(*, session: Session, partner_id: str, tenant_id: str) -> TenantOffboarding:
    """Offboard one of the partner's tenants (idempotent: a second call answers the record).

    The tenant's row is locked first: two offboardings (or a suspension) racing for it
    run one after the other, and the second sees the first's outcome.
    """
    tenant = owned_tenant(session, partner_id, tenant_id, for_update=True)
    if tenant.status == "offboarded":
        return session.scalars(
            select(TenantOffboarding).where(TenantOffboarding.tenant_id == tenant.id)
        ).one()
    now = utcnow()
    retention = dt.timedelta(days=runtime.settings().offboard_retention_days)
    unrevoked: list[str] = []
    with tenant_scope(tenant.id):
        session.execute(update(ApiKey).where(ApiKey.revoked_at.is_(None)).values(revoked_at=now))
        live = session.scalars(
            select(BankConnection.id).where(BankConnection.status != "revoked")
        ).all()
        for connection_id in live:
            try:
                with session.begin_nested():
                    connections.revoke(session=session, connection_id=connection_id)
            except PayymoError:
                unrevoked.append(connection_id)
                _stop_locally(session, connection_id, now)
    tenant.status = "offboarded"
    tenant.updated_at = now
    record = TenantOffboarding(
        tenant_id=tenant.id,
        partner_id=partner_id,
        tenant_name=tenant.name,
        offboarded_at=now,
        purge_after=now + retention,
        unrevoked_connections=unrevoked,
    )
    session.add(record)
    session.flush()
    return record


def _stop_locally(session: Session, connection_id: str, now: dt.datetime) -> None:
    """The provider would not withdraw the consent: stop using it here all the same."""
    conn = session.get_one(BankConnection, connection_id)
    conn.status = "revoked"
    conn.revoked_at = now
    conn.next_sync_at = None
    conn.link = None
    log.warning(
        "bank consent not withdrawn at the provider on offboarding",
        extra={"connection_id": connection_id, "tenant_id": conn.tenant_id},
    )


def due_for_purge(*, session: Session, now: dt.datetime) -> list[str]:
    """Ids of the offboarding records whose retention has passed and are not purged yet."""
    return list(
        session.scalars(
            select(TenantOffboarding.id)
            .where(TenantOffboarding.purged_at.is_(None), TenantOffboarding.purge_after <= now)
            .order_by(TenantOffboarding.id)
        )
    )


def purge(*, session: Session, record_id: str, now: dt.datetime) -> bool:
    """Delete one offboarded tenant's data (its rows cascade) and note it on the record.

    The record is locked and re-checked: two sweeps never purge one tenant twice.
    Answers whether this call purged it.
    """
    record = session.scalars(
        select(TenantOffboarding)
        .where(TenantOffboarding.id == record_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if record.purged_at is not None or record.purge_after > now:
        return False
    with tenant_scope(record.tenant_id):
        record.counts = {
            "invoices": session.scalar(select(func.count(Invoice.id))),
            "transactions": session.scalar(select(func.count(Transaction.id))),
        }
    with system_scope():
        session.execute(Tenant.__table__.delete().where(Tenant.id == record.tenant_id))
        rollup_upkeep.forget_tenant(session=session, tenant_id=record.tenant_id)
    record.purged_at = now
    session.flush()
    log.info("offboarded tenant purged", extra={"tenant_id": record.tenant_id})
    return True
