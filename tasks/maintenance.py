"""Housekeeping jobs an operator schedules (e.g. hourly on the ``low`` queue)."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from payymo import idempotency
from tasks.base import system_job

log = logging.getLogger(__name__)


@system_job
def purge_idempotency_records(session: Session) -> int:
    """Delete stored Idempotency-Key responses past their lifetime; returns how many."""
    purged = idempotency.purge_expired(session)
    log.info("purged expired idempotency records", extra={"count": purged})
    return purged
