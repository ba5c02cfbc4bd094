"""RQ entry point for a tenant's reconcile run (enqueued by ``services.jobs.request_reconcile``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from payymo.services.reconciliation.lock import tenant_run_lock
from payymo.services.reconciliation.run import run_reconciliation
from tasks.base import cyclic_gc_paused, run_recorded, tenant_job


@tenant_job(records_job=True)
def reconcile_tenant(session: Session, job_id: str | None = None) -> dict:
    """Run reconciliation for the tenant and record it on its job; safe to deliver twice.

    Under the tenant's run lock: claim the job (a second delivery of a finished job does
    nothing), run, record the result. A rerun after a crash or retry reloads state, so
    it never allocates twice.
    """
    session.commit()  # end the wrapper's read before waiting for the lock
    with tenant_run_lock(session), cyclic_gc_paused():
        return run_recorded(
            session, job_id, lambda: run_reconciliation(session=session, job_id=job_id)
        )
