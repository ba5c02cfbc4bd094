"""Enqueue jobs only after the transaction that asked for them commits.

With Redis configured, jobs go to RQ queues by dotted name (``"tasks.x.y"``), so
``payymo`` never imports ``tasks``. On the embedded default they run in-process on a
background thread (``payymo.background``), each with a fresh session, after the commit
and, for a request, after its response has been sent.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session, scoped_session

from payymo import background, runtime
from payymo.redis_guard import RedisUnavailable

log = logging.getLogger(__name__)

QUEUES = ("high", "default", "low")
# The modules jobs are enqueued from, by name. A worker imports them before it forks a
# work horse per job, so each job pays for its fork, not for importing them (0.6 s).
JOB_MODULES = (
    "tasks.bank_sync",
    "tasks.maintenance",
    "tasks.reconcile",
    "tasks.stripe",
    "tasks.webhooks",
)
_PENDING = "payymo_pending_jobs"
_HELD = "payymo_jobs_held"
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass(frozen=True)
class PendingJob:
    """A job waiting for its transaction to commit."""

    func: str
    args: tuple
    queue: str
    job_id: str | None
    timeout: int | None = None  # seconds; RQ's default (180 s) when None


def enqueue(
    session: Session,
    func: str,
    *args,
    queue: str = "default",
    job_id: str | None = None,
    timeout: int | None = None,
):
    """Schedule ``func(*args)`` to run once ``session`` commits; dropped on rollback."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    if job_id is not None and not _JOB_ID.fullmatch(job_id):
        # RQ refuses other characters at enqueue time, after commit, where it would be lost.
        raise ValueError(f"job id {job_id!r} must be letters, digits, '-' or '_'")
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        # Tie the job to a transaction so a rollback drops it (opens no connection yet).
        session.begin()
    session.info.setdefault(_PENDING, []).append(PendingJob(func, args, queue, job_id, timeout))


def preload() -> None:
    """Import every job module now (a worker, before it starts forking)."""
    for module in JOB_MODULES:
        importlib.import_module(module)


def resolve(func: str):
    """The function a dotted name (``"tasks.x.y"``) names."""
    module, _, name = func.rpartition(".")
    return getattr(importlib.import_module(module), name)


def running_in_process() -> frozenset[str]:
    """Job ids this process will run or is running in-process (the embedded default)."""
    return background.alive_ids()


def run_in_process(job: PendingJob) -> None:
    """Run a job on this process's background thread, or inline (its own session and scope)."""
    background.submit(
        background.Work(
            job.func,
            job.job_id,
            lambda: resolve(job.func)(*job.args),
            inline=runtime.settings().inline_jobs,
        )
    )


def dispatch(job: PendingJob) -> None:
    """Send one job to RQ, or run it in-process on the embedded default."""
    guard = runtime.redis_guard()
    if guard is None:
        run_in_process(job)
        return
    from rq import Queue

    def send(conn) -> None:
        Queue(job.queue, connection=conn).enqueue(
            job.func,
            *job.args,
            job_id=job.job_id,
            job_timeout=job.timeout,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )

    try:
        guard.call(send, what="enqueue")
    except RedisUnavailable:
        # Costs the request nothing while the breaker is open; the sweeper enqueues it later.
        log.warning("job not enqueued: Redis unavailable", extra={"job": job.func})


def hold(session: Session) -> None:
    """Never send ``session``'s jobs: all it commits is rolled back in the end (savepoints).

    The worker's warm-up reconciles a tenant that never exists for anyone else; a job
    for it would find no tenant.
    """
    session.info[_HELD] = True


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    if session.info.get(_HELD):
        return
    for job in pending:
        try:
            dispatch(job)
        except Exception as exc:  # never fails the commit; the job sweeper re-dispatches later
            log.error("enqueue failed", extra={"job": job.func, "error": type(exc).__name__})


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session: Session, _previous) -> None:
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.info.pop(_PENDING, None)
