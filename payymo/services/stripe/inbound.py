"""Webhook events from Stripe: verified on the raw body, stored once, processed by a job."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from integrations.stripe.client import verify_event
from integrations.stripe.errors import Refused
from payymo import ids, jobs, secrets_box
from payymo.db import utcnow
from payymo.errors import InvalidRequest, NotFound
from payymo.models import StripeEvent
from payymo.services.stripe.links import get_link
from payymo.tenancy import tenant_scope

PROCESS = "tasks.stripe.process_events"


def _unknown() -> NotFound:
    return NotFound("No Stripe account is linked here.", code="stripe_not_linked")


def receive(*, session: Session, tenant_id: str, payload: bytes, signature: str) -> bool:
    """Verify and store an event, then queue its processing; answers whether it was new.

    A bad or stale signature is refused before anything is stored; an event Stripe sends
    again (same id) is acknowledged and not processed twice.
    """
    if not ids.is_valid(tenant_id, "ten"):
        raise _unknown()
    with tenant_scope(tenant_id):
        link = get_link(session)
        if link is None:
            raise _unknown()
        try:
            event = verify_event(payload, signature, secrets_box.decrypt(link.webhook_secret))
        except Refused as exc:
            raise InvalidRequest(exc.message, code="signature_invalid") from None
        row_id = ids.new_id("sev")
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        inserted = session.execute(
            dialect.insert(StripeEvent.__table__)
            .values(
                id=row_id,
                tenant_id=tenant_id,
                stripe_event_id=str(event["id"])[:255],
                type=str(event.get("type", ""))[:100],
                payload=event,
                received_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "stripe_event_id"])
            .returning(StripeEvent.__table__.c.id)
        ).scalar_one_or_none()
        if inserted is None:
            return False
        # One job per tenant works off every stored event in order (a lost enqueue is
        # caught up by the next event's job, or the sweep).
        jobs.enqueue(session, PROCESS, tenant_id, job_id=f"stripe-events-{tenant_id}")
        return True


def unprocessed(*, session: Session) -> list[StripeEvent]:
    """The tenant's stored events not processed yet, oldest first."""
    return list(
        session.scalars(
            select(StripeEvent).where(StripeEvent.processed_at.is_(None)).order_by(StripeEvent.id)
        )
    )
