"""Job records: request a tenant's reconcile run (coalesced), and track its state.

A burst of imports asks for many runs; while one reconcile job is still queued every
request returns it instead of queueing another. The queued row is read FOR UPDATE, so a
worker cannot flip it to running (and start reading) until the requester's transaction,
with the data that asked for the run, has committed.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from payymo import jobs
from payymo.db import utcnow
from payymo.errors import PayymoError
from payymo.ids import new_id
from payymo.models import Job
from payymo.pagination import Page, paginate
from payymo.services.reconciliation import changes as change_log
from payymo.services.reconciliation.lock import lock_key
from payymo.tenancy import current_tenant_id, get_or_404

log = logging.getLogger(__name__)

RECONCILE = "reconcile"
RECONCILE_TASK = "tasks.reconcile.reconcile_tenant"
LOST = "The run stopped before it finished (its worker was lost); a later run picks it up."
REENQUEUE_AFTER = dt.timedelta(minutes=10)
# A large tenant's run takes longer than RQ's 180 s default; a cut run is safe to rerun.
RECONCILE_TIMEOUT = 3600
BANK_SYNC = "bank_sync"
BANK_SYNC_TASK = "tasks.bank_sync.sync_connection"
BANK_SYNC_TIMEOUT = 1800
STRIPE_SYNC = "stripe_sync"
STRIPE_SYNC_TASK = "tasks.stripe.backfill"
# job type → (task, timeout in seconds, queue id prefix)
_TASKS = {
    RECONCILE: (RECONCILE_TASK, RECONCILE_TIMEOUT, "reconcile"),
    BANK_SYNC: (BANK_SYNC_TASK, BANK_SYNC_TIMEOUT, "sync"),
    STRIPE_SYNC: (STRIPE_SYNC_TASK, BANK_SYNC_TIMEOUT, "stripe-sync"),
}
FAILED = "The reconciliation run failed."
SUPERSEDED = "A later run of the tenant's reconciliation covers this one; it is not retried."
SUSPENDED = "Skipped: the tenant is suspended."
# A failed run is retried after 1, 2, 4, 8 minutes (capped), then left failed for good.
MAX_ATTEMPTS = 5
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_LONGEST = dt.timedelta(minutes=30)
# Invoice fields the engine reads: changing one of them can change a match.
INVOICE_MATCH_FIELDS = frozenset(
    {
        "number",
        "customer_name",
        "customer_email",
        "customer_reference",
        "amount_due",
        "currency",
        "issue_date",
        "due_date",
        "status",
    }
)


def invoice_change_matters(previous: dict) -> bool:
    """True when an invoice change (its ``previous_attributes``) can change matching."""
    return not INVOICE_MATCH_FIELDS.isdisjoint(previous)


def _serialise_requests(session: Session, tenant_id: str) -> None:
    # Two imports committing at once would both find no queued job and queue two.
    if session.get_bind().dialect.name == "postgresql":
        key = lock_key(f"request:{tenant_id}")
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def request_reconcile(*, session: Session, reason: str, full: bool = False) -> Job:
    """The tenant's queued reconcile job, or a new one enqueued after commit.

    ``full``: the next run reads every open credit and invoice (not only what changed).
    """
    tenant_id = current_tenant_id()
    if full:
        change_log.request_full(session)
    _serialise_requests(session, tenant_id)
    queued = session.scalars(
        select(Job)
        .where(Job.type == RECONCILE, Job.status == "queued")
        .order_by(Job.id)
        .limit(1)
        .with_for_update()
    ).first()
    now = utcnow()
    if queued is not None:
        if queued.created_at < now - REENQUEUE_AFTER:
            # Its enqueue may have been lost (Redis down); a second delivery is a no-op.
            _enqueue(session, tenant_id, queued.id)
        return queued
    job = Job(id=new_id("job"), type=RECONCILE, status="queued", created_at=now)
    session.add(job)
    session.flush()
    _enqueue(session, tenant_id, job.id)
    log.info("reconcile requested", extra={"job_id": job.id, "reason": reason})
    return job


def request_bank_sync(*, session: Session, connection_id: str, reason: str) -> Job:
    """The connection's queued or running sync job, or a new one enqueued after commit.

    Coalesced per connection, so a sync is never started twice at once; the sync itself
    also holds the connection's sync lock.
    """
    current = session.scalars(
        select(Job)
        .where(
            Job.type == BANK_SYNC,
            Job.subject_id == connection_id,
            Job.status.in_(("queued", "running")),
        )
        .order_by(Job.id)
        .limit(1)
    ).first()
    if current is not None:
        return current
    job = Job(
        id=new_id("job"),
        type=BANK_SYNC,
        subject_id=connection_id,
        status="queued",
        created_at=utcnow(),
    )
    session.add(job)
    session.flush()
    _enqueue(session, current_tenant_id(), job.id, BANK_SYNC, connection_id)
    log.info("bank sync requested", extra={"job_id": job.id, "reason": reason})
    return job


def request_stripe_sync(*, session: Session, reason: str) -> Job:
    """The tenant's queued or running Stripe backfill, or a new one enqueued after commit."""
    current = session.scalars(
        select(Job)
        .where(Job.type == STRIPE_SYNC, Job.status.in_(("queued", "running")))
        .order_by(Job.id)
        .limit(1)
    ).first()
    if current is not None:
        return current
    job = Job(id=new_id("job"), type=STRIPE_SYNC, status="queued", created_at=utcnow())
    session.add(job)
    session.flush()
    _enqueue(session, current_tenant_id(), job.id, STRIPE_SYNC)
    log.info("stripe sync requested", extra={"job_id": job.id, "reason": reason})
    return job


def rq_job_id(tenant_id: str, job_id: str, job_type: str = RECONCILE) -> str:
    """The RQ job id of a job row (RQ allows only letters, digits, _ and -)."""
    return f"{_TASKS[job_type][2]}-{tenant_id}-{job_id}"


def _enqueue(
    session: Session,
    tenant_id: str,
    job_id: str,
    job_type: str = RECONCILE,
    subject_id: str | None = None,
) -> None:
    task, timeout, _ = _TASKS[job_type]
    args = (tenant_id, job_id) if subject_id is None else (tenant_id, job_id, subject_id)
    jobs.enqueue(
        session, task, *args, job_id=rq_job_id(tenant_id, job_id, job_type), timeout=timeout
    )


def get_job(*, session: Session, job_id: str) -> Job:
    """One of the tenant's jobs, or ``NotFound``."""
    return get_or_404(session, Job, job_id)


def list_jobs(*, session: Session, filters: dict, page: dict) -> Page:
    """The tenant's jobs, newest first, filtered by ``type`` and ``status``."""
    stmt = select(Job)
    for name in ("type", "status"):
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Job, name) == filters[name])
    return paginate(session, stmt, Job, prefix="job", **page)


def start_job(*, session: Session, job_id: str) -> bool:
    """Mark a job running (one more attempt); False when it already succeeded."""
    now = utcnow()
    claimed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status != "succeeded")
        .values(
            status="running",
            started_at=now,
            finished_at=None,
            error=None,
            attempts=Job.attempts + 1,
            next_attempt_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return False
    # Holding the tenant's run lock: any other run still marked running has died.
    session.execute(
        update(Job)
        .where(Job.type == RECONCILE, Job.status == "running", Job.id != job_id)
        .values(status="failed", error=LOST, finished_at=now, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    # A run covers the whole tenant: earlier failed runs waiting for a retry need none.
    session.execute(
        update(Job)
        .where(Job.type == RECONCILE, Job.status == "failed", Job.next_attempt_at.is_not(None))
        .where(Job.id != job_id)
        .values(error=SUPERSEDED, next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )
    return True


def _set(session: Session, job_id: str, **values) -> None:
    session.execute(
        update(Job)
        .where(Job.id == job_id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )


def record_progress(*, session: Session, job_id: str, result: dict) -> None:
    """Store the counts so far (committed with each chunk)."""
    _set(session, job_id, result=result)


def finish_job(*, session: Session, job_id: str, result: dict) -> None:
    """Mark a job succeeded with its result."""
    _set(session, job_id, status="succeeded", result=result, finished_at=utcnow(), error=None)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a job that failed its ``attempts``-th attempt waits before the next."""
    return min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_LONGEST)


def gave_up(message: str, attempts: int) -> str:
    """``message`` saying the job is not retried again."""
    return f"{message} Tried {attempts} times; not retried again (a new change starts a new run)."


def fail_job(*, session: Session, job_id: str, exc: BaseException) -> None:
    """Mark a job failed with a safe message (never a stack trace or SQL); schedule a retry."""
    message = exc.message if isinstance(exc, PayymoError) else FAILED
    now = utcnow()
    attempts = session.scalar(select(Job.attempts).where(Job.id == job_id)) or 0
    if attempts < MAX_ATTEMPTS:
        retry = now + retry_delay(attempts)
    else:
        retry, message = None, gave_up(message, attempts)
    _set(session, job_id, status="failed", error=message, finished_at=now, next_attempt_at=retry)


def skip_job(*, session: Session, job_id: str, reason: str) -> None:
    """Close a job that will not run (e.g. its tenant is suspended); it is not retried."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status != "succeeded")
        .values(status="failed", error=reason, finished_at=utcnow(), next_attempt_at=None)
        .execution_options(synchronize_session=False)
    )


def queue_job_id(job: Job) -> str:
    """The id a job row's work has in the queue (deterministic, so a redelivery is a no-op)."""
    return rq_job_id(job.tenant_id, job.id, job.type)


def dispatch_job(*, session: Session, job: Job) -> None:
    """Enqueue a job row's work again, after ``session`` commits (the sweeper's re-dispatch)."""
    if job.type not in _TASKS:
        raise ValueError(f"cannot dispatch a {job.type!r} job")
    _enqueue(session, job.tenant_id, job.id, job.type, job.subject_id)
