"""What the queue knows about a job: is it still going to run (or running), or lost?

With Redis, a job is alive while RQ holds it queued, deferred or scheduled, or started
on a worker that still beats (RQ refreshes the heartbeat every 30 s while a job runs).
A job RQ marked failed, stopped, canceled or finished, a missing one, or one started on
a worker that stopped beating is not. On the embedded default only jobs this process is
running in-process are alive.
"""

from __future__ import annotations

import contextlib
import datetime as dt

from payymo import jobs, runtime

# RQ's heartbeat TTL while a job runs is 90 s; allow one more missed beat.
HEARTBEAT_GRACE = dt.timedelta(seconds=120)


def is_alive(job_id: str, *, now: dt.datetime, connection=None) -> bool:
    """True while the job with this (RQ) id is waiting to run or running on a live worker."""
    conn = connection if connection is not None else runtime.redis_connection()
    if conn is None:
        return job_id in jobs.running_in_process()
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus
    from rq.worker import Worker

    try:
        job = Job.fetch(job_id, connection=conn)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
        return True
    if status != JobStatus.STARTED or not job.worker_name:
        return False
    beat = job.last_heartbeat or job.started_at
    worker_key = Worker.redis_worker_namespace_prefix + job.worker_name
    return beat is not None and beat >= now - HEARTBEAT_GRACE and bool(conn.exists(worker_key))


def discard(job_id: str, *, connection=None) -> None:
    """Forget a lost RQ job (and its registry entries) so its id can be enqueued afresh."""
    conn = connection if connection is not None else runtime.redis_connection()
    if conn is None:
        return
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    with contextlib.suppress(NoSuchJobError):
        Job.fetch(job_id, connection=conn).delete()
