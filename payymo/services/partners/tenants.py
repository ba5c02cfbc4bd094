"""A partner's tenants: provision, list with usage, read, suspend and reactivate."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.errors import Conflict
from payymo.models import BankConnection, Tenant
from payymo.models.banking import CONNECTION_STATUSES
from payymo.pagination import Page, paginate
from payymo.services import api_keys
from payymo.services import tenants as tenant_service
from payymo.services.reconciliation import summary as reconciliation_summary
from payymo.services.rollups import read as rollups
from payymo.tenancy import tenant_scope
from payymo.tenancy.partners import owned_tenant, owned_tenants

STATUSES = ("active", "suspended")


@dataclass
class Usage:
    """What a tenant used: this month's transactions, its bank connections, its matching."""

    month_transaction_count: int = 0
    bank_connections: dict[str, int] = field(default_factory=dict)
    last_synced_at: dt.datetime | None = None
    auto_match_rate: float | None = None


@dataclass
class PartnerTenant:
    """A tenant as its partner sees it: the tenant, and (in lists and reads) its usage."""

    tenant: Tenant
    usage: Usage | None = None

    def __getattr__(self, name: str):
        return getattr(self.tenant, name)


def provision_tenant(
    *, session: Session, partner_id: str, name: str, currency: str, settings: dict | None = None
) -> tuple[Tenant, str]:
    """A new tenant owned by the partner, and its first API key (the secret shown once)."""
    tenant = tenant_service.create_tenant(session=session, name=name, default_currency=currency)
    tenant.partner_id = partner_id
    session.flush()
    with tenant_scope(tenant.id):
        if settings:
            tenant_service.update_tenant(session=session, changes={"settings": settings})
        _key, secret = api_keys.create_key(session=session, name="provisioned by partner")
    return tenant, secret


def list_tenants(*, session: Session, partner_id: str, filters: dict, page: dict) -> Page:
    """The partner's tenants with their usage, newest first (``status`` filters)."""
    stmt = owned_tenants(partner_id)
    if filters.get("status"):
        stmt = stmt.where(Tenant.status == filters["status"])
    found = paginate(session, stmt, Tenant, prefix="ten", **page)
    shown = [PartnerTenant(t, usage(session=session, tenant=t)) for t in found.data]
    return dataclasses.replace(found, data=shown)


def get_tenant(*, session: Session, partner_id: str, tenant_id: str) -> PartnerTenant:
    """One of the partner's tenants with its usage, or ``NotFound``."""
    tenant = owned_tenant(session, partner_id, tenant_id)
    return PartnerTenant(tenant, usage(session=session, tenant=tenant))


def set_status(*, session: Session, partner_id: str, tenant_id: str, status: str) -> Tenant:
    """Suspend (its keys answer 403, its syncs and runs stop) or reactivate a tenant."""
    tenant = owned_tenant(session, partner_id, tenant_id, for_update=True)
    if tenant.status not in STATUSES:
        raise Conflict(f"The tenant is {tenant.status}.", code="tenant_not_changeable")
    if tenant.status != status:
        tenant.status = status
        tenant.updated_at = utcnow()
        session.flush()
    return tenant


def usage(*, session: Session, tenant: Tenant, today: dt.date | None = None) -> Usage:
    """The tenant's usage, read inside its own scope (the tenant wall applies)."""
    month = (today or utcnow().date()).strftime("%Y-%m")
    with tenant_scope(tenant.id):
        transactions, _amount, _allocated = rollups.total(
            session, "transactions", where=lambda model: [model.received == month]
        )
        states = Counter(
            dict(
                session.execute(
                    select(BankConnection.status, func.count(BankConnection.id)).group_by(
                        BankConnection.status
                    )
                ).all()
            )
        )
        last_sync = session.scalar(select(func.max(BankConnection.last_synced_at)))
        rate = reconciliation_summary.summary(session=session)["auto_matched_credit_rate"]
    return Usage(
        month_transaction_count=int(transactions or 0),
        bank_connections={status: states.get(status, 0) for status in CONNECTION_STATUSES},
        last_synced_at=last_sync,
        auto_match_rate=rate,
    )
