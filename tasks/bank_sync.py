"""RQ entry points for bank connections: sync one, and the scheduler's pass over all."""

from __future__ import annotations

from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.services.banking import sync
from tasks.base import cyclic_gc_paused, run_recorded, system_job, tenant_job


@tenant_job(records_job=True)
def sync_connection(session: Session, job_id: str | None, connection_id: str) -> dict:
    """Sync a connection and record it on its job; a second delivery of a done job is a no-op."""
    with cyclic_gc_paused():
        return run_recorded(
            session,
            job_id,
            lambda: sync.sync_connection(session=session, connection_id=connection_id),
        )


@system_job
def schedule_syncs(session: Session) -> dict:
    """One pass of the bank sync scheduler across tenants; returns counts by outcome."""
    from tasks.maintenance import schedule_bank_syncs

    return dict(schedule_bank_syncs(session, utcnow()))
