"""Run the job sweep (``tasks.maintenance.sweep_jobs``) every ``sweep_interval_seconds``.

With Redis, each ``payymo worker`` runs a small thread that enqueues the sweep on the
``high`` queue, at most once per interval across all workers (a Redis lease) and never
while the previous sweep is still queued or running; a worker then runs it like any
job. The thread touches only a Redis client of its own, never the database: the RQ
worker forks a process per job, and a fork must not inherit a connection or a lock that
another thread was using. On the embedded default ``payymo serve`` runs the sweep itself
in a thread (jobs run in-process there anyway). The first sweep runs at start.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from payymo import jobs, queue_state
from payymo.config import Settings
from payymo.db import utcnow

log = logging.getLogger(__name__)

SWEEP_TASK = "tasks.maintenance.sweep_jobs"
SWEEP_JOB_ID = "payymo-sweep"
LEASE_KEY = "payymo:sweeper:lease"
SWEEP_TIMEOUT = 600  # seconds


class Periodic:
    """A daemon thread that calls ``tick`` at start and then every ``interval`` seconds."""

    def __init__(self, name: str, interval: float, tick: Callable[[], object]) -> None:
        self.interval = interval
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)

    def start(self) -> Periodic:
        """Start the thread; returns self."""
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop and wait for it (a tick in progress finishes first)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> None:
        """Block until the thread ends (or ``timeout`` seconds pass)."""
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:  # the next tick tries again; never kill the thread
                log.exception("periodic job sweep failed", extra={"thread": self._thread.name})
            if self._stop.wait(self.interval):
                return


def in_process(settings: Settings) -> Periodic:
    """The embedded default: sweep in this process every interval (``payymo serve``)."""
    return Periodic("job-sweeper", settings.sweep_interval_seconds, jobs.resolve(SWEEP_TASK))


def enqueue_sweep(connection, interval: int) -> bool:
    """Enqueue the sweep job unless another worker did this interval or one is pending."""
    from rq import Queue

    if not connection.set(LEASE_KEY, "1", nx=True, ex=interval):
        return False
    if queue_state.is_alive(SWEEP_JOB_ID, now=utcnow(), connection=connection):
        return False
    queue_state.discard(SWEEP_JOB_ID, connection=connection)
    Queue("high", connection=connection).enqueue(
        SWEEP_TASK,
        job_id=SWEEP_JOB_ID,
        job_timeout=SWEEP_TIMEOUT,
        result_ttl=86400,
        failure_ttl=7 * 86400,
    )
    return True


def scheduler(settings: Settings) -> Periodic:
    """With workers: a thread enqueueing the sweep job (``payymo worker``)."""
    import redis

    # Its own client: the worker's job processes (forked) must not share its pool or locks.
    connection = redis.Redis.from_url(
        settings.redis_url, socket_timeout=5, socket_connect_timeout=2
    )
    interval = settings.sweep_interval_seconds
    return Periodic("job-sweep-scheduler", interval, lambda: enqueue_sweep(connection, interval))
