"""Stripe jobs: work off the webhook events a tenant's Stripe sent."""

from __future__ import annotations

from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.services.stripe.backfill import LISTS, walk_page
from payymo.services.stripe.inbound import unprocessed
from payymo.services.stripe.links import account_of, get_link
from payymo.services.stripe.process import mark_processed, process_event
from tasks.base import run_recorded, tenant_job


@tenant_job
def process_events(session: Session) -> dict:
    """Process the tenant's stored, unprocessed Stripe events, oldest first (idempotent).

    Each event commits on its own: a Stripe failure leaves that event unprocessed for the
    job's retry, and the ones before it done. Answers counts by outcome.
    """
    link = get_link(session)
    if link is None:
        return {"skipped": "stripe not linked"}
    stripe = account_of(link)
    counts: dict[str, int] = {}
    for event in unprocessed(session=session):
        outcome = process_event(session, stripe, event)
        mark_processed(event, outcome)
        session.commit()
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


@tenant_job(records_job=True)
def backfill(session: Session, job_id: str | None) -> dict:
    """Walk Stripe's payments and payouts since the last sync, committing page by page."""

    def work() -> dict:
        link = get_link(session)
        if link is None:
            return {"skipped": "stripe not linked"}
        stripe = account_of(link)
        written: dict[str, int] = {}
        for kind in LISTS:
            more = True
            while more:
                count, more = walk_page(
                    session=session, stripe=stripe, link=link, kind=kind, now=utcnow()
                )
                session.commit()  # the position is kept: a failure resumes from here
                written[kind] = written.get(kind, 0) + count
        return written

    return run_recorded(session, job_id, work)
