"""A partner's webhook endpoints: one URL hears the events of every tenant it owns.

Each event reaches the partner's endpoint as the tenant's own endpoints get it (the same
document, ``tenant_id`` included, the same signing, retries and disabling); a delivery
row belongs to the event's tenant and points at the partner's endpoint.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payymo.errors import Conflict
from payymo.models import PartnerWebhookEndpoint, Tenant, WebhookDelivery
from payymo.pagination import Page, paginate
from payymo.services.webhooks import deliveries
from payymo.services.webhooks import endpoints as common
from payymo.tenancy import system_scope, tenant_scope
from payymo.tenancy.partners import owned_row, owned_rows, owned_tenant, owned_tenants


def _owned(session: Session, partner_id: str, endpoint_id: str, *, for_update: bool = False):
    return owned_row(
        session, PartnerWebhookEndpoint, partner_id, endpoint_id, for_update=for_update
    )


def create_endpoint(
    *,
    session: Session,
    partner_id: str,
    url: str,
    event_types: list[str],
    description: str | None = None,
) -> tuple[PartnerWebhookEndpoint, str]:
    """A new partner endpoint and its signing secret (shown once; stored encrypted)."""
    count = session.scalar(
        select(func.count()).select_from(owned_rows(PartnerWebhookEndpoint, partner_id).subquery())
    )
    endpoint, secret = common.build(
        PartnerWebhookEndpoint,
        existing=count,
        url=url,
        event_types=event_types,
        description=description,
        partner_id=partner_id,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def list_endpoints(*, session: Session, partner_id: str, page: dict) -> Page:
    """The partner's endpoints, newest first."""
    stmt = owned_rows(PartnerWebhookEndpoint, partner_id)
    return paginate(session, stmt, PartnerWebhookEndpoint, prefix="pwe", **page)


def get_endpoint(*, session: Session, partner_id: str, endpoint_id: str):
    """One of the partner's endpoints, or ``NotFound``."""
    return _owned(session, partner_id, endpoint_id)


def update_endpoint(*, session: Session, partner_id: str, endpoint_id: str, changes: dict):
    """Change url, event types, description or ``enabled`` (under the endpoint's lock)."""
    endpoint = _owned(session, partner_id, endpoint_id, for_update=True)
    common.change(session, endpoint, changes)
    return endpoint


def delete_endpoint(*, session: Session, partner_id: str, endpoint_id: str) -> None:
    """Delete the endpoint; its deliveries in every tenant go with it (cascade)."""
    endpoint = _owned(session, partner_id, endpoint_id, for_update=True)
    session.delete(endpoint)
    session.flush()


def rotate_secret(*, session: Session, partner_id: str, endpoint_id: str, now: dt.datetime):
    """A new secret; the current one keeps signing beside it for 24 hours."""
    endpoint = _owned(session, partner_id, endpoint_id, for_update=True)
    return endpoint, common.rotate(session, endpoint, now)


def _test_tenant(session: Session, partner_id: str, tenant_id: str | None) -> Tenant:
    if tenant_id is not None:
        return owned_tenant(session, partner_id, tenant_id)
    tenant = session.scalars(
        owned_tenants(partner_id).where(Tenant.status == "active").order_by(Tenant.id).limit(1)
    ).first()
    if tenant is None:
        raise Conflict(
            "A test event is one of a tenant's events: provision a tenant first.",
            code="no_tenants",
        )
    return tenant


def send_test(
    *, session: Session, partner_id: str, endpoint_id: str, tenant_id: str | None, now
) -> deliveries.DeliveryView:
    """A ``webhook.test`` event of one tenant (the oldest active one by default), sent to
    this endpoint only."""
    endpoint = _owned(session, partner_id, endpoint_id)
    tenant = _test_tenant(session, partner_id, tenant_id)
    with tenant_scope(tenant.id):
        delivery = common.queue_test(session, endpoint, now)
        return deliveries.view(session=session, delivery=delivery)


def list_deliveries(
    *, session: Session, partner_id: str, endpoint_id: str, filters: dict, page: dict
) -> Page:
    """The endpoint's deliveries across the partner's tenants, newest first."""
    endpoint = _owned(session, partner_id, endpoint_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.partner_endpoint_id == endpoint.id)
    if filters.get("tenant_id"):
        tenant = owned_tenant(session, partner_id, filters["tenant_id"])
        stmt = stmt.where(WebhookDelivery.tenant_id == tenant.id)
    if filters.get("status"):
        stmt = stmt.where(WebhookDelivery.status == filters["status"])
    if filters.get("event_id"):
        stmt = stmt.where(WebhookDelivery.event_id == filters["event_id"])
    # Rows of every tenant the partner owns: the partner's endpoint id confines them.
    with system_scope():
        found = paginate(session, stmt, WebhookDelivery, prefix="del", **page)
        return replace(found, data=deliveries.views(session, found.data))
