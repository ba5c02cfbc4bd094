"""Retention: events, audit rows and idempotency records are kept for a while, then purged.

Ids are time-ordered, so "created before the boundary" is a primary-key range: each batch
is an index range scan, whatever the table's size. Runs in system scope (the job sweep,
``tasks.maintenance.purge_expired``), a batch per call; the caller commits and calls
again while a batch comes back full.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from payymo.ids import floor_id
from payymo.models import AuditLog, Event, PartnerAuditLog

BATCH = 5_000
# What is purged, the id prefix of its rows, and which setting says how long it stays.
TABLES = (
    (Event, "evt", "event_retention_days"),
    (AuditLog, "aud", "audit_retention_days"),
    (PartnerAuditLog, "paud", "audit_retention_days"),
)


def purge_batch(session: Session, model, prefix: str, *, before: dt.datetime) -> int:
    """Delete up to ``BATCH`` rows of ``model`` created before ``before``; answers how many."""
    boundary = floor_id(prefix, int(before.timestamp() * 1000))
    ids = session.scalars(
        select(model.id).where(model.id < boundary).order_by(model.id).limit(BATCH)
    ).all()
    if ids:
        session.execute(
            delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
        )
    return len(ids)


def boundaries(settings, now: dt.datetime) -> list[tuple]:
    """(model, id prefix, created-before moment) for every table with a keeping time."""
    return [
        (model, prefix, now - dt.timedelta(days=getattr(settings, setting)))
        for model, prefix, setting in TABLES
    ]
