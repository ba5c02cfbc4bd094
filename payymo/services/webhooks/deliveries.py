"""Reading deliveries: an endpoint's, newest first, each with its attempts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from payymo.pagination import Page, paginate
from payymo.tenancy import get_or_404


@dataclass(frozen=True)
class DeliveryView:
    """A delivery with its attempts (oldest first) and its event's type."""

    row: WebhookDelivery
    attempts: list[WebhookAttempt]
    event_type: str | None


def views(session: Session, rows: list[WebhookDelivery]) -> list[DeliveryView]:
    """The deliveries with their attempts and event types (two queries for the page)."""
    if not rows:
        return []
    ids = [d.id for d in rows]
    attempts = defaultdict(list)
    for attempt in session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
    ):
        attempts[attempt.delivery_id].append(attempt)
    types = dict(
        session.execute(
            select(Event.id, Event.type).where(Event.id.in_({d.event_id for d in rows}))
        ).all()
    )
    return [DeliveryView(d, attempts[d.id], types.get(d.event_id)) for d in rows]


def view(*, session: Session, delivery: WebhookDelivery) -> DeliveryView:
    """One delivery with its attempts."""
    return views(session, [delivery])[0]


def list_deliveries(*, session: Session, endpoint_id: str, filters: dict, page: dict) -> Page:
    """The endpoint's deliveries, newest first, optionally by status or event."""
    get_or_404(session, WebhookEndpoint, endpoint_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if filters.get("status"):
        stmt = stmt.where(WebhookDelivery.status == filters["status"])
    if filters.get("event_id"):
        stmt = stmt.where(WebhookDelivery.event_id == filters["event_id"])
    found = paginate(session, stmt, WebhookDelivery, prefix="del", **page)
    return replace(found, data=views(session, found.data))
