"""Delivery history is kept for a while, then purged (attempts go with their delivery)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from payymo.ids import floor_id
from payymo.models import WebhookDelivery

KEEP = dt.timedelta(days=30)
BATCH = 5_000


def purge_history(*, session: Session, now: dt.datetime, keep: dt.timedelta = KEEP) -> int:
    """Delete finished deliveries created more than ``keep`` ago, one batch; answers how many.

    Pending deliveries stay whatever their age. Ids are time-ordered, so the primary key
    finds the old rows. Runs in system scope; the caller commits and calls again while
    it answers ``BATCH``.
    """
    boundary = floor_id("del", int((now - keep).timestamp() * 1000))
    old = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.id < boundary, WebhookDelivery.status != "pending")
        .order_by(WebhookDelivery.id)
        .limit(BATCH)
    )
    ids = session.scalars(old).all()
    if ids:
        session.execute(
            delete(WebhookDelivery)
            .where(WebhookDelivery.id.in_(ids))
            .execution_options(synchronize_session=False)
        )
    return len(ids)
