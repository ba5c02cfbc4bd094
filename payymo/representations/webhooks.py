"""Webhook endpoint and delivery documents (secrets never appear here)."""

from __future__ import annotations

from payymo.representations import iso


def endpoint(ep, *, now=None) -> dict:
    """A webhook endpoint as the API shows it."""
    rotating = ep.previous_secret_expires_at
    if rotating is not None and now is not None and rotating <= now:
        rotating = None
    return {
        "object": "webhook_endpoint",
        "id": ep.id,
        "url": ep.url,
        "event_types": list(ep.event_types),
        "description": ep.description,
        "enabled": ep.enabled,
        "disabled_reason": ep.disabled_reason,
        "previous_secret_expires_at": iso(rotating),
        "failing_since": iso(ep.failing_since),
        "created_at": iso(ep.created_at),
        "updated_at": iso(ep.updated_at),
    }


def attempt(row) -> dict:
    """One HTTP attempt of a delivery."""
    return {
        "number": row.number,
        "attempted_at": iso(row.attempted_at),
        "status_code": row.status_code,
        "duration_ms": row.duration_ms,
        "response_excerpt": row.response_excerpt,
        "error": row.error,
    }


def delivery(row, attempts=(), event_type: str | None = None) -> dict:
    """A delivery of one event to one endpoint, with its attempts (oldest first)."""
    return {
        "object": "webhook_delivery",
        "id": row.id,
        "endpoint_id": row.endpoint_id or row.partner_endpoint_id,
        "tenant_id": row.tenant_id,
        "event_id": row.event_id,
        "event_type": event_type,
        "status": row.status,
        "attempt_count": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
        "delivered_at": iso(row.delivered_at),
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "attempts": [attempt(a) for a in attempts],
    }
