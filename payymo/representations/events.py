"""The event document: what ``GET /events/{id}`` answers and what a webhook body carries."""

from __future__ import annotations

import json

from payymo.representations import iso

# Bumped when a payload changes in a way a receiver could notice.
API_VERSION = "2026-11-29"


def event(row) -> dict:
    """An event (any object with the ``Event`` attributes) as API answers and webhooks show it."""
    return {
        "object": "event",
        "id": row.id,
        "event_type": row.type,
        "timestamp": iso(row.created_at),
        "tenant_id": row.tenant_id,
        "api_version": API_VERSION,
        "request_id": row.request_id,
        "data": row.data,
    }


def body(document: dict) -> bytes:
    """The exact bytes a webhook sends (and signs) for a document."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
