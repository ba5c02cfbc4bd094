"""Webhook endpoints: create, change, rotate secrets, disable, send a test event.

The operations on an endpoint object (``build``, ``change``, ``rotate``, ``disable``)
serve a tenant's endpoints and a partner's alike; finding the endpoint is the caller's.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from integrations.webhooks.signing import new_secret
from payymo import events, runtime, secrets_box
from payymo.errors import Conflict, InvalidRequest
from payymo.event_types import WILDCARD, unknown_patterns
from payymo.models import PartnerWebhookEndpoint, WebhookDelivery, WebhookEndpoint
from payymo.pagination import Page, paginate
from payymo.representations.webhooks import endpoint as endpoint_document
from payymo.services.webhooks.targets import check_url
from payymo.tenancy import get_for_update_or_404, get_or_404, system_scope

MAX_ENDPOINTS = 20
ROTATION_OVERLAP = dt.timedelta(hours=24)


def check_event_types(event_types: list[str]) -> list[str]:
    if not event_types:
        raise InvalidRequest('List at least one event type, or ["*"] for all.', param="event_types")
    unknown = unknown_patterns(event_types)
    if unknown:
        raise InvalidRequest(
            f"Unknown event type '{unknown[0]}': see GET /events/types or README's list.",
            param="event_types",
            code="unknown_event_type",
        )
    if WILDCARD in event_types:
        return [WILDCARD]
    return list(dict.fromkeys(event_types))


def build(
    model, *, existing: int, url: str, event_types: list[str], description: str | None, **owner
) -> tuple:
    """A new endpoint of ``model`` (not yet added) and its secret; ``existing`` counts the
    owner's endpoints so far."""
    check_url(url, runtime.settings())
    types = check_event_types(event_types)
    if existing >= MAX_ENDPOINTS:
        raise Conflict(
            f"At most {MAX_ENDPOINTS} webhook endpoints are allowed; delete one first.",
            code="too_many_endpoints",
        )
    secret = new_secret()
    endpoint = model(
        url=url,
        event_types=types,
        description=description,
        enabled=True,
        secret=secrets_box.encrypt(secret),
        **owner,
    )
    return endpoint, secret


def create_endpoint(
    *, session: Session, url: str, event_types: list[str], description: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (shown once; stored encrypted)."""
    count = session.scalar(select(func.count()).select_from(WebhookEndpoint))
    endpoint, secret = build(
        WebhookEndpoint,
        existing=count,
        url=url,
        event_types=event_types,
        description=description,
    )
    session.add(endpoint)
    session.flush()
    return endpoint, secret


def list_endpoints(*, session: Session, page: dict) -> Page:
    """The tenant's endpoints, newest first."""
    return paginate(session, select(WebhookEndpoint), WebhookEndpoint, prefix="we", **page)


def get_endpoint(*, session: Session, endpoint_id: str) -> WebhookEndpoint:
    """One of the tenant's endpoints, or ``NotFound``."""
    return get_or_404(session, WebhookEndpoint, endpoint_id)


def delivery_column(endpoint):
    """The ``webhook_deliveries`` column that points at this kind of endpoint."""
    if isinstance(endpoint, PartnerWebhookEndpoint):
        return WebhookDelivery.partner_endpoint_id
    return WebhookDelivery.endpoint_id


def _cancel_pending(session: Session, endpoint) -> None:
    stmt = (
        update(WebhookDelivery)
        .where(delivery_column(endpoint) == endpoint.id, WebhookDelivery.status == "pending")
        .values(status="cancelled", leased_until=None)
        .execution_options(synchronize_session=False)
    )
    if isinstance(endpoint, PartnerWebhookEndpoint):
        # A partner endpoint's deliveries are in every tenant it owns; the endpoint id
        # confines the statement to them. What is pending is flushed in its own scope first.
        session.flush()
        with system_scope():
            session.execute(stmt)
    else:
        session.execute(stmt)


def disable(session: Session, endpoint, reason: str, *, announce: bool) -> None:
    """Stop sending to ``endpoint``; pending deliveries are cancelled (redeliver by hand).

    ``announce`` emits ``webhook_endpoint.disabled`` for a tenant's endpoint; a partner's
    has no tenant to tell (the partner sees ``disabled_reason`` on it).
    """
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    _cancel_pending(session, endpoint)
    if announce and isinstance(endpoint, WebhookEndpoint):
        session.flush()
        events.emit(session, "webhook_endpoint.disabled", {"object": endpoint_document(endpoint)})


def change(session: Session, endpoint, changes: dict) -> None:
    """Apply url, event types, description or ``enabled``; re-enabling clears the failure."""
    if "url" in changes:
        check_url(changes["url"], runtime.settings())
        endpoint.url = changes["url"]
    if "event_types" in changes:
        endpoint.event_types = check_event_types(changes["event_types"])
    if "description" in changes:
        endpoint.description = changes["description"]
    if "enabled" in changes and changes["enabled"] != endpoint.enabled:
        if changes["enabled"]:
            endpoint.enabled = True
            endpoint.disabled_reason = None
            endpoint.failing_since = None
        else:
            disable(session, endpoint, "disabled through the API", announce=False)
    session.flush()


def update_endpoint(*, session: Session, endpoint_id: str, changes: dict) -> WebhookEndpoint:
    """Change one of the tenant's endpoints (see ``change``)."""
    endpoint = get_for_update_or_404(session, WebhookEndpoint, endpoint_id)
    change(session, endpoint, changes)
    return endpoint


def delete_endpoint(*, session: Session, endpoint_id: str) -> None:
    """Delete an endpoint and its delivery history (what Zapier's unsubscribe does)."""
    endpoint = get_for_update_or_404(session, WebhookEndpoint, endpoint_id)
    session.delete(endpoint)
    session.flush()


def rotate(session: Session, endpoint, now: dt.datetime) -> str:
    """A new secret for ``endpoint``; the current one keeps signing beside it for 24 hours."""
    secret = new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret = secrets_box.encrypt(secret)
    session.flush()
    return secret


def rotate_secret(*, session: Session, endpoint_id: str, now: dt.datetime):
    """Rotate the secret of one of the tenant's endpoints."""
    endpoint = get_for_update_or_404(session, WebhookEndpoint, endpoint_id)
    return endpoint, rotate(session, endpoint, now)


def live_secrets(endpoint: WebhookEndpoint, now: dt.datetime) -> list[str]:
    """The secrets that sign a delivery now: the current one, then a rotating one."""
    found = [secrets_box.decrypt(endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > now:
        found.append(secrets_box.decrypt(endpoint.previous_secret))
    return found


def refuse_disabled(endpoint) -> None:
    """A disabled endpoint is not sent to by hand until it is enabled again."""
    if not endpoint.enabled:
        raise Conflict(
            "The endpoint is disabled: enable it (PATCH enabled=true) first.",
            code="endpoint_disabled",
        )


def queue_test(session: Session, endpoint, now: dt.datetime) -> WebhookDelivery:
    """A ``webhook.test`` event (in the tenant in scope) for ``endpoint`` only, due at once."""
    refuse_disabled(endpoint)
    event = events.emit(
        session,
        "webhook.test",
        {"object": endpoint_document(endpoint), "message": "A test event from Payymo."},
    )
    # Fanned out here, to this endpoint alone, rather than to every subscriber.
    event.dispatched_at = now
    session.flush()
    delivery = WebhookDelivery(
        event_id=event.id,
        status="pending",
        attempts=0,
        schedule_step=0,
        next_attempt_at=now,
    )
    setattr(delivery, delivery_column(endpoint).key, endpoint.id)
    session.add(delivery)
    session.flush()
    return delivery


def send_test(*, session: Session, endpoint_id: str, now: dt.datetime) -> WebhookDelivery:
    """A ``webhook.test`` event for this tenant endpoint only, due at once."""
    return queue_test(session, get_or_404(session, WebhookEndpoint, endpoint_id), now)
