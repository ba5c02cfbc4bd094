"""Tenants and their settings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.errors import InvalidRequest
from payymo.models import Tenant
from payymo.models.tenant import DEFAULT_SETTINGS
from payymo.tenancy import current_tenant_id, system_scope


def create_tenant(
    *, session: Session, name: str, default_currency: str = "EUR", plan: str = "standard"
) -> Tenant:
    """A new active tenant with default settings."""
    tenant = Tenant(
        name=name,
        default_currency=default_currency,
        plan=plan,
        status="active",
        settings=dict(DEFAULT_SETTINGS),
    )
    session.add(tenant)
    session.flush()
    return tenant


def list_tenants(*, session: Session) -> list[Tenant]:
    """Every tenant (operator CLI only)."""
    with system_scope():
        return list(session.scalars(select(Tenant).order_by(Tenant.id)))


def current_tenant(*, session: Session) -> Tenant:
    """The tenant in scope."""
    return session.get_one(Tenant, current_tenant_id())


def update_tenant(*, session: Session, changes: dict) -> Tenant:
    """Change the tenant's name, default currency or settings (merged over the current)."""
    tenant = current_tenant(session=session)
    if "name" in changes:
        tenant.name = changes["name"]
    if "default_currency" in changes:
        tenant.default_currency = changes["default_currency"]
    if "settings" in changes:
        unknown = set(changes["settings"]) - set(DEFAULT_SETTINGS)
        if unknown:
            raise InvalidRequest(f"Unknown setting {sorted(unknown)[0]}.", param="settings")
        tenant.settings = {**tenant.effective_settings, **changes["settings"]}
    tenant.updated_at = utcnow()
    session.flush()
    return tenant
