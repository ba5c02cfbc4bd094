"""The job sweeper: nothing a tenant asked for stays queued, running or failed for ever.

``stuck_jobs`` lists candidates across tenants; ``sweep_job`` re-checks one under its
row lock (SKIP LOCKED: a row a requester or another sweeper holds waits for the next
sweep) and puts it back on its way:

- queued for longer than ``QUEUED_GRACE`` with no live queue job (its enqueue was lost:
  Redis was down at commit, or the process died between commit and enqueue): dispatched
  again;
- running with no live queue job (its worker died): queued again, or failed for good
  once it has used ``MAX_ATTEMPTS``;
- failed with ``next_attempt_at`` due: queued again.

A failed or dead run is not retried when a later run of the tenant is already queued or
running: that one covers it. Dispatch happens when the caller commits (``payymo.jobs``)
and queue ids are deterministic, so a second delivery is a no-op; ``sweep_lock`` keeps
two sweepers from working at the same time.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import and_, or_, select, text
from sqlalchemy.orm import Session

from payymo import queue_state, runtime
from payymo.models import Job
from payymo.services import jobs as job_service
from payymo.services.reconciliation.lock import lock_key

# The commit that queued a job enqueues it a moment later; do not race it.
QUEUED_GRACE = dt.timedelta(minutes=1)
# Embedded default: a run in another process is invisible here; lost once past its timeout.
EMBEDDED_RUN_LOST_AFTER = dt.timedelta(seconds=job_service.RECONCILE_TIMEOUT + 300)
WORKER_LOST = "The run's worker was lost."
_SWEEP_LOCK = lock_key("sweeper")
_local_lock = threading.Lock()


@contextmanager
def sweep_lock(session: Session) -> Iterator[bool]:
    """Hold the one sweep lock for the block; yields False when another sweep holds it."""
    engine = session.get_bind().engine
    if engine.dialect.name != "postgresql":
        held = _local_lock.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                _local_lock.release()
        return
    # A session-level lock on its own connection: the sweep commits job by job.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        held = conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": _SWEEP_LOCK})
        try:
            yield bool(held)
        finally:
            if held:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _SWEEP_LOCK})


def stuck_jobs(*, session: Session, now: dt.datetime) -> list[tuple[str, str]]:
    """(tenant id, job id) of every job the sweep should look at, oldest first (system scope)."""
    stmt = (
        select(Job.tenant_id, Job.id)
        .where(
            or_(
                and_(Job.status == "queued", Job.created_at < now - QUEUED_GRACE),
                Job.status == "running",
                and_(Job.status == "failed", Job.next_attempt_at <= now),
            )
        )
        .order_by(Job.id)
    )
    return [(tenant_id, job_id) for tenant_id, job_id in session.execute(stmt)]


def unfinished_jobs(*, session: Session, now: dt.datetime, older_than: dt.timedelta) -> list[Job]:
    """Jobs queued or running since before ``now - older_than``, or waiting for a retry."""
    cutoff = now - older_than
    stmt = (
        select(Job)
        .where(
            or_(
                and_(Job.status == "queued", Job.created_at < cutoff),
                and_(Job.status == "running", Job.started_at < cutoff),
                and_(Job.status == "failed", Job.next_attempt_at.is_not(None)),
            )
        )
        .order_by(Job.id)
    )
    return list(session.scalars(stmt))


def _lost(job: Job, now: dt.datetime) -> bool:
    if queue_state.is_alive(job_service.queue_job_id(job), now=now):
        return False
    if job.status == "running" and runtime.settings().embedded:
        return job.started_at is None or job.started_at < now - EMBEDDED_RUN_LOST_AFTER
    return True


def _covered(session: Session, job: Job) -> bool:
    """A later run of the same kind is queued or running: it does this job's work."""
    later = select(Job.id).where(
        Job.type == job.type,
        Job.subject_id.is_(None) if job.subject_id is None else Job.subject_id == job.subject_id,
        Job.status.in_(("queued", "running")),
        Job.id > job.id,
    )
    return session.scalars(later.limit(1)).first() is not None


def _dispatch(session: Session, job: Job) -> None:
    queue_id = job_service.queue_job_id(job)
    queue_state.discard(queue_id)  # a dead RQ job under the same id would shadow the new one
    job_service.dispatch_job(session=session, job=job)


def _close(job: Job, now: dt.datetime, error: str) -> None:
    job.status, job.error, job.finished_at, job.next_attempt_at = "failed", error, now, None


def sweep_job(*, session: Session, job_id: str, now: dt.datetime) -> str:
    """Re-check one of the tenant's jobs under its row lock and act; returns what it did."""
    job = session.scalars(
        select(Job).where(Job.id == job_id).with_for_update(skip_locked=True)
    ).first()
    if job is None:
        return "locked"
    if job.status == "queued":
        if job.created_at >= now - QUEUED_GRACE or not _lost(job, now):
            return "alive"
        _dispatch(session, job)
        return "redispatched"
    if job.status == "running":
        if not _lost(job, now):
            return "alive"
        if _covered(session, job):
            _close(job, now, job_service.SUPERSEDED)
            return "superseded"
        if job.attempts >= job_service.MAX_ATTEMPTS:
            _close(job, now, job_service.gave_up(WORKER_LOST, job.attempts))
            return "gave_up"
        job.status, job.finished_at = "queued", None
        _dispatch(session, job)
        return "requeued"
    if job.status == "failed" and job.next_attempt_at is not None and job.next_attempt_at <= now:
        if _covered(session, job):
            job.error, job.next_attempt_at = job_service.SUPERSEDED, None
            return "superseded"
        job.status, job.next_attempt_at = "queued", None
        _dispatch(session, job)
        return "retried"
    return "done"
