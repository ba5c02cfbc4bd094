"""Events → deliveries → attempts: the database side of webhook delivery.

``fan_out`` gives every committed event one delivery per enabled endpoint subscribed to
its type (the tenant's own endpoints, and its partner's); ``claim`` leases the
deliveries that are due (a dispatcher that dies lets its lease lapse and another picks
them up); ``record`` writes what each attempt got and moves the delivery along the retry
schedule. All three run in system scope, across
tenants, and the caller commits. Rows are locked endpoints first, then deliveries, each
in id order, so two dispatchers (or a dispatcher and an API call) never deadlock.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from integrations.webhooks.sender import Outcome
from payymo.errors import Conflict
from payymo.event_types import subscribed
from payymo.ids import new_id
from payymo.models import (
    Event,
    PartnerWebhookEndpoint,
    Tenant,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from payymo.representations.events import body, event
from payymo.services.webhooks import schedule
from payymo.services.webhooks.endpoints import disable, live_secrets
from payymo.tenancy import get_or_404, tenant_scope

LEASE = dt.timedelta(seconds=60)  # longer than any attempt can take
EXCERPT_CHARS = 1024
RETRY_AFTER_STATUSES = (429, 503)


@dataclass(frozen=True)
class Job:
    """A claimed delivery, ready to send: where, what, and with which secrets."""

    delivery_id: str
    tenant_id: str
    endpoint_id: str
    event_id: str
    url: str
    body: bytes
    secrets: tuple[str, ...]


@dataclass(frozen=True)
class Result:
    """What one attempt of a job got, and when it was made."""

    job: Job
    outcome: Outcome
    attempted_at: dt.datetime


def _insert(session: Session, endpoint_column: str):
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(WebhookDelivery.__table__).on_conflict_do_nothing(
        index_elements=[endpoint_column, "event_id"]
    )


def _subscribers(session: Session, ids: list[str]) -> dict[str, list]:
    """Each event's (event, endpoint) pairs: its tenant's enabled endpoints, and its
    partner's. An endpoint hears of what happened after it subscribed, not before."""
    tenants = (
        select(
            Event.id, Event.tenant_id, Event.type, WebhookEndpoint.id, WebhookEndpoint.event_types
        )
        .join(
            WebhookEndpoint,
            and_(
                WebhookEndpoint.tenant_id == Event.tenant_id,
                WebhookEndpoint.enabled.is_(True),
                WebhookEndpoint.created_at <= Event.created_at,
            ),
        )
        .where(Event.id.in_(ids))
    )
    partners = (
        select(
            Event.id,
            Event.tenant_id,
            Event.type,
            PartnerWebhookEndpoint.id,
            PartnerWebhookEndpoint.event_types,
        )
        .join(Tenant, Tenant.id == Event.tenant_id)
        .join(
            PartnerWebhookEndpoint,
            and_(
                PartnerWebhookEndpoint.partner_id == Tenant.partner_id,
                PartnerWebhookEndpoint.enabled.is_(True),
                PartnerWebhookEndpoint.created_at <= Event.created_at,
            ),
        )
        .where(Event.id.in_(ids))
    )
    return {
        "endpoint_id": session.execute(tenants).all(),
        "partner_endpoint_id": session.execute(partners).all(),
    }


def fan_out(*, session: Session, now: dt.datetime, limit: int = 1000) -> int:
    """Create the deliveries of up to ``limit`` undispatched events; answers how many events."""
    rows = session.execute(
        select(Event.id, Event.tenant_id, Event.type, Event.created_at)
        .where(Event.dispatched_at.is_(None))
        .order_by(Event.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return 0
    ids = [row.id for row in rows]
    for column, pairs in _subscribers(session, ids).items():
        deliveries = [
            {
                "id": new_id("del"),
                "tenant_id": tenant_id,
                column: endpoint_id,
                "event_id": event_id,
                "status": "pending",
                "attempts": 0,
                "schedule_step": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for event_id, tenant_id, event_type, endpoint_id, event_types in pairs
            if subscribed(event_types, event_type)
        ]
        if deliveries:
            session.execute(_insert(session, column), deliveries)
    session.execute(
        update(Event)
        .where(Event.id.in_(ids))
        .values(dispatched_at=now)
        .execution_options(synchronize_session=False)
    )
    return len(rows)


def claim(
    *,
    session: Session,
    now: dt.datetime,
    limit: int,
    in_flight: Mapping[str, int] | None = None,
    cap: Callable[[str], int] | None = None,
) -> list[Job]:
    """Lease up to ``limit`` due deliveries and render what each sends.

    With ``cap``, no endpoint gets more than ``cap(endpoint_id)`` in flight (``in_flight``
    counts what this dispatcher already has out): one slow receiver with a backlog
    cannot take every slot from the other tenants.
    """
    in_flight = in_flight or {}
    endpoint = func.coalesce(WebhookDelivery.endpoint_id, WebhookDelivery.partner_endpoint_id)
    stmt = (
        select(WebhookDelivery.id, endpoint)
        .where(
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until < now),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if cap is not None:
        full = [ep for ep, count in in_flight.items() if count >= cap(ep)]
        if full:
            stmt = stmt.where(endpoint.not_in(full))
    due, taken = [], dict(in_flight)
    for delivery_id, endpoint_id in session.execute(stmt):
        if cap is not None and taken.get(endpoint_id, 0) >= cap(endpoint_id):
            continue  # left unleased: the next pass, or another dispatcher, takes it
        taken[endpoint_id] = taken.get(endpoint_id, 0) + 1
        due.append(delivery_id)
    if not due:
        return []
    session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(due))
        .values(leased_until=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        select(WebhookDelivery.id, Event, WebhookEndpoint, PartnerWebhookEndpoint)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .outerjoin(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .outerjoin(
            PartnerWebhookEndpoint,
            PartnerWebhookEndpoint.id == WebhookDelivery.partner_endpoint_id,
        )
        .where(WebhookDelivery.id.in_(due))
        .order_by(WebhookDelivery.id)
    ).all()
    secrets: dict[str, tuple[str, ...]] = {}
    jobs = []
    for delivery_id, ev, tenants_endpoint, partners_endpoint in rows:
        ep = tenants_endpoint or partners_endpoint
        if ep.id not in secrets:
            secrets[ep.id] = tuple(live_secrets(ep, now))
        jobs.append(
            Job(delivery_id, ev.tenant_id, ep.id, ev.id, ep.url, body(event(ev)), secrets[ep.id])
        )
    return jobs


def _failure_text(outcome: Outcome) -> str:
    if outcome.error:
        return outcome.error
    return f"the receiver answered HTTP {outcome.status_code}"


def _record_one(
    session: Session,
    result: Result,
    delivery: WebhookDelivery,
    endpoint: WebhookEndpoint | PartnerWebhookEndpoint | None,
    now: dt.datetime,
    rng: random.Random | None,
) -> None:
    outcome, at = result.outcome, result.attempted_at
    delivery.attempts += 1
    delivery.leased_until = None
    delivery.last_attempt_at = at
    delivery.last_status_code = outcome.status_code
    delivery.last_error = None if outcome.ok else _failure_text(outcome)
    session.add(
        WebhookAttempt(
            delivery_id=delivery.id,
            number=delivery.attempts,
            attempted_at=at,
            status_code=outcome.status_code,
            duration_ms=outcome.duration_ms,
            response_excerpt=outcome.excerpt[:EXCERPT_CHARS] or None,
            error=outcome.error,
        )
    )
    if delivery.status != "pending":
        return  # cancelled (endpoint disabled) or done while this attempt was out
    if outcome.ok:
        delivery.status = "delivered"
        delivery.delivered_at = at
        if endpoint is not None:
            endpoint.failing_since = None
        return
    if outcome.status_code == 410 and endpoint is not None:
        delivery.status = "failed"
        if endpoint.enabled:
            disable(session, endpoint, "the receiver answered 410 Gone", announce=True)
        return
    if endpoint is not None and endpoint.enabled:
        if endpoint.failing_since is None:
            endpoint.failing_since = at
        elif at - endpoint.failing_since >= schedule.DISABLE_AFTER:
            delivery.status = "failed"
            since = endpoint.failing_since.strftime("%Y-%m-%d %H:%M UTC")
            disable(session, endpoint, f"every delivery failed since {since}", announce=True)
            return
    retry_after = outcome.retry_after if outcome.status_code in RETRY_AFTER_STATUSES else None
    delay = schedule.next_delay(delivery.schedule_step, retry_after=retry_after, rng=rng)
    if delay is None:
        delivery.status = "failed"
        return
    delivery.schedule_step += 1
    delivery.next_attempt_at = now + dt.timedelta(seconds=delay)


def record(
    *,
    session: Session,
    results: list[Result],
    now: dt.datetime,
    rng: random.Random | None = None,
) -> None:
    """Write each attempt and move its delivery on: delivered, retried, or failed."""
    if not results:
        return
    endpoint_ids = sorted({r.job.endpoint_id for r in results})
    endpoints = {
        ep.id: ep
        for model in (WebhookEndpoint, PartnerWebhookEndpoint)
        for ep in session.scalars(
            select(model).where(model.id.in_(endpoint_ids)).order_by(model.id).with_for_update()
        )
    }
    deliveries = {
        d.id: d
        for d in session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.id.in_([r.job.delivery_id for r in results]))
            .order_by(WebhookDelivery.id)
            .with_for_update()
        )
    }
    by_tenant = defaultdict(list)
    for result in sorted(results, key=lambda r: r.job.delivery_id):
        by_tenant[result.job.tenant_id].append(result)
    for tenant_id, theirs in by_tenant.items():
        # In the tenant's own scope, one flush for all of its results: a disabled
        # endpoint's event is that tenant's.
        with tenant_scope(tenant_id):
            for result in theirs:
                delivery = deliveries.get(result.job.delivery_id)
                if delivery is None:
                    continue  # its endpoint was deleted meanwhile
                endpoint = endpoints.get(delivery.endpoint_id or delivery.partner_endpoint_id)
                _record_one(session, result, delivery, endpoint, now, rng)
            session.flush()


def redeliver(
    *, session: Session, event_id: str, endpoint_id: str | None, now: dt.datetime
) -> list[WebhookDelivery]:
    """Send an event again, now, to one endpoint or to every enabled one subscribed to it.

    An existing delivery starts its schedule again; an endpoint that never had one gets one.
    """
    ev = get_or_404(session, Event, event_id)
    if endpoint_id is not None:
        targets = [get_or_404(session, WebhookEndpoint, endpoint_id, param="endpoint_id")]
        if not targets[0].enabled:
            raise Conflict(
                "The endpoint is disabled: enable it (PATCH enabled=true) first.",
                code="endpoint_disabled",
            )
    else:
        targets = [
            ep
            for ep in session.scalars(
                select(WebhookEndpoint)
                .where(WebhookEndpoint.enabled.is_(True))
                .order_by(WebhookEndpoint.id)
            )
            if subscribed(ep.event_types, ev.type)
        ]
    out = []
    for ep in targets:
        existing = session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.event_id == ev.id, WebhookDelivery.endpoint_id == ep.id)
            .with_for_update()
        ).one_or_none()
        if existing is None:
            existing = WebhookDelivery(
                endpoint_id=ep.id, event_id=ev.id, attempts=0, created_at=now
            )
            session.add(existing)
        existing.status = "pending"
        existing.schedule_step = 0
        existing.next_attempt_at = now
        existing.leased_until = None
        out.append(existing)
    session.flush()
    return out
