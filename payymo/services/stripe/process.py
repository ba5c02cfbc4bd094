"""Work off a tenant's stored Stripe events, in the order they arrived."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.models import StripeEvent
from payymo.services.stripe import mirror

log = logging.getLogger(__name__)

PAYMENT_EVENTS = ("payment_intent.succeeded", "payment_intent.payment_failed")
PAYOUT_EVENTS = ("payout.paid", "payout.failed", "payout.reconciliation_completed")
DISPUTE_EVENTS = ("charge.dispute.created", "charge.dispute.closed")


def process_event(session: Session, stripe, event: StripeEvent) -> str:
    """Apply one event; answers what was done, in a few words."""
    kind, obj = event.type, (event.payload.get("data") or {}).get("object") or {}
    if kind in PAYMENT_EVENTS:
        mirror.refresh_payment(session, stripe, obj["id"])
        return "payment refreshed"
    if kind == "charge.refunded":
        if obj.get("payment_intent"):
            mirror.refresh_payment(session, stripe, obj["payment_intent"])
        return "refund recorded"
    if kind in DISPUTE_EVENTS:
        mirror.set_dispute(session, stripe, obj)
        return "dispute recorded"
    if kind in PAYOUT_EVENTS:
        mirror.refresh_payout(session, stripe, obj["id"])
        return "payout refreshed"
    log.info("stripe event acknowledged, not handled", extra={"type": kind})
    return "acknowledged"


def mark_processed(event: StripeEvent, outcome: str) -> None:
    """Record that ``event`` was applied, and how."""
    event.processed_at = utcnow()
    event.outcome = outcome
