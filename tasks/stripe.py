"""Stripe jobs: work off the webhook events a tenant's Stripe sent."""

from __future__ import annotations

from sqlalchemy.orm import Session

from payymo.services.stripe.process import process_pending
from tasks.base import tenant_job


@tenant_job
def process_events(session: Session) -> dict:
    """Process the tenant's stored, unprocessed Stripe events in order (idempotent)."""
    return process_pending(session=session)
