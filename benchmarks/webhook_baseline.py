"""The baseline the webhook benchmark compares with: one RQ job, one forked process, per delivery.

What a first implementation would do: enqueue a job per delivery; the RQ worker forks a
work horse for it, which loads the delivery, signs the body, POSTs it with ``requests``
and records the attempt. Imported by the worker by dotted name.
"""

from __future__ import annotations

import time

import requests

from integrations.webhooks import signing
from payymo import db, runtime
from payymo.db import utcnow
from payymo.models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from payymo.representations.events import body, event
from payymo.services.webhooks.endpoints import live_secrets
from payymo.tenancy import system_scope


def send_one(delivery_id: str) -> int:
    """Send one delivery and record it; answers the receiver's status code."""
    runtime.settings()
    session = db.session
    try:
        with system_scope():
            delivery = session.get(WebhookDelivery, delivery_id)
            ev = session.get(Event, delivery.event_id)
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
            payload = body(event(ev))
            now = utcnow()
            headers = signing.headers(live_secrets(endpoint, now), ev.id, int(time.time()), payload)
            started = time.monotonic()
            response = requests.post(
                endpoint.url,
                data=payload,
                headers={**headers, "Content-Type": "application/json"},
                timeout=10,
                allow_redirects=False,
            )
            delivery.attempts += 1
            session.add(
                WebhookAttempt(
                    tenant_id=delivery.tenant_id,
                    delivery_id=delivery.id,
                    number=delivery.attempts,
                    attempted_at=now,
                    status_code=response.status_code,
                    duration_ms=int((time.monotonic() - started) * 1000),
                    response_excerpt=response.text[:1024],
                )
            )
            delivery.status = "delivered" if response.ok else "pending"
            delivery.delivered_at = now if response.ok else None
            session.commit()
            return response.status_code
    finally:
        db.session.remove()
