"""Tenants and their settings."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.errors import InvalidRequest
from payymo.models import Tenant
from payymo.models.tenant import DEFAULT_SETTINGS
from payymo.tenancy import current_tenant_id, system_scope

EDITABLE = ("name", "default_currency")


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
    changed = False
    for name in EDITABLE:
        if name in changes and getattr(tenant, name) != changes[name]:
            setattr(tenant, name, changes[name])
            changed = True
    if "settings" in changes:
        unknown = set(changes["settings"]) - set(DEFAULT_SETTINGS)
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidRequest(f"Unknown setting '{name}'.", param=f"settings.{name}")
        merged = {**tenant.effective_settings, **changes["settings"]}
        if merged != tenant.settings:
            # A new dict, so the JSON column sees the change.
            tenant.settings = merged
            changed = True
    if changed:
        tenant.updated_at = utcnow()
        session.flush()
    return tenant
