"""The partner wall: a partner reaches only the tenants it owns, and a miss is a 404."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from payymo.errors import NotFound
from payymo.models import Tenant
from payymo.tenancy.lookup import _PUBLIC_ID, security_log


def owned_tenants(partner_id: str) -> Select:
    """The partner's tenants, as a statement to filter, order and page."""
    return select(Tenant).where(Tenant.partner_id == partner_id)


def owned_by(model, partner_id: str):
    """The criterion for the partner's own rows of a partner-owned ``model``."""
    return model.partner_id == partner_id


def owned_rows(model, partner_id: str) -> Select:
    """The partner's own rows of a partner-owned ``model`` (one with ``partner_id``)."""
    return select(model).where(owned_by(model, partner_id))


def owned_row(
    session: Session,
    model,
    partner_id: str,
    row_id: str,
    *,
    param: str | None = None,
    for_update: bool = False,
):
    """One of the partner's rows of ``model``, or ``NotFound`` (logged when another's)."""
    label = model.__tablename__
    missing = NotFound(
        f"No such {label.rstrip('s').replace('_', ' ')}: '{str(row_id)[:64]}'",
        param=param,
        code="resource_missing",
    )
    if not isinstance(row_id, str) or not _PUBLIC_ID.fullmatch(row_id):
        raise missing
    stmt = owned_rows(model, partner_id).where(model.id == row_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    row = session.scalars(stmt).one_or_none()
    if row is not None:
        return row
    if session.scalars(select(model.id).where(model.id == row_id)).one_or_none():
        _refused(partner_id, label, row_id)
    raise missing


def _refused(partner_id: str, resource: str, resource_id: str) -> None:
    security_log.warning(
        "cross-partner access refused",
        extra={
            "event": "security.cross_partner_access",
            "partner_id": partner_id,
            "resource": resource,
            "resource_id": resource_id,
        },
    )


def owned_tenant(
    session: Session,
    partner_id: str,
    tenant_id: str,
    *,
    param: str | None = "tenant_id",
    for_update: bool = False,
) -> Tenant:
    """One of the partner's tenants, or ``NotFound`` (logged when another partner owns it).

    ``for_update`` re-reads it under a row lock, for a change of its status.
    """
    missing = NotFound(
        f"No such tenant: '{str(tenant_id)[:64]}'", param=param, code="resource_missing"
    )
    if not isinstance(tenant_id, str) or not _PUBLIC_ID.fullmatch(tenant_id):
        raise missing
    stmt = owned_tenants(partner_id).where(Tenant.id == tenant_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    tenant = session.scalars(stmt).one_or_none()
    if tenant is not None:
        return tenant
    if session.scalars(select(Tenant.id).where(Tenant.id == tenant_id)).one_or_none():
        _refused(partner_id, "tenants", tenant_id)
    raise missing
