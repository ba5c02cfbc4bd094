"""The embedded default's job queue: jobs run on a background thread, never in a request.

Without Redis there is no RQ worker, but a request must still not wait for the work it
asks for (a reconcile run can take seconds). Jobs go on an in-process queue that one
worker thread (one RQ worker's worth) runs in order, each with its own session. Like
RQ, the queue keeps one job per id: a job whose id is already waiting is not queued
again (a burst of imports asks for one run). Jobs a request asks for are queued once its
response has been sent (``after_response``), so a job never competes with the request
that asked for it. At exit the queue is drained, so a CLI command's jobs still run.
"""

from __future__ import annotations

import atexit
import contextvars
import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

log = logging.getLogger(__name__)

EXIT_WAIT_SECONDS = 60.0


@dataclass(frozen=True)
class Work:
    """One job: what to call, its id (None: never coalesced), and whether it runs inline
    (on the submitting thread, a request's once its response is written)."""

    name: str
    job_id: str | None
    run: Callable[[], None]
    inline: bool = False


class BackgroundQueue:
    """An in-process FIFO of jobs with one worker thread, coalesced by job id."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._waiting: deque[Work] = deque()
        self._running: Work | None = None
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()

    def submit(self, work: Work) -> bool:
        """Queue ``work``; False when a job with its id is already waiting."""
        with self._cond:
            if work.job_id is not None and any(w.job_id == work.job_id for w in self._waiting):
                return False
            self._waiting.append(work)
            self._ensure_thread()
            self._cond.notify_all()
            return True

    def alive_ids(self) -> frozenset[str]:
        """Ids of the jobs waiting or running here."""
        with self._cond:
            work = [*self._waiting, *([self._running] if self._running else [])]
            return frozenset(w.job_id for w in work if w.job_id is not None)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing waits or runs; False when ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._waiting and not self._running, timeout)

    def _ensure_thread(self) -> None:
        if os.getpid() != self._pid:  # a forked child inherits no threads, nor their work
            self._pid, self._thread, self._running = os.getpid(), None, None
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="payymo-jobs", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._waiting)
                self._running = self._waiting.popleft()
                work = self._running
            try:
                _run(work)
            finally:
                with self._cond:
                    self._running = None
                    self._cond.notify_all()


def _run(work: Work) -> None:
    try:
        work.run()
    except BaseException as exc:  # logged, never lost; the next job still runs
        log.error("in-process job failed", extra={"job": work.name, "error": type(exc).__name__})


_queue = BackgroundQueue()
_inline_running: list[Work] = []  # list.append/remove are atomic under the GIL
# Set while a request is served: its jobs wait here until the response has been sent.
_deferred: contextvars.ContextVar[list[Work] | None] = contextvars.ContextVar(
    "payymo_deferred_jobs", default=None
)


def submit(work: Work) -> bool:
    """Start or queue a job now, or hold it until the current request's response is sent.

    False when a job with its id is already waiting (it is not queued twice).
    """
    held = _deferred.get()
    if held is not None:
        held.append(work)
        return True
    return _start(work)


def alive_ids() -> frozenset[str]:
    """Ids of the jobs this process will run or is running."""
    inline = frozenset(w.job_id for w in list(_inline_running) if w.job_id is not None)
    return _queue.alive_ids() | inline


def wait_idle(timeout: float | None = None) -> bool:
    """Block until this process's queue is empty and idle (False on timeout)."""
    return _queue.wait_idle(timeout)


@contextmanager
def _holding() -> Iterator[list[Work]]:
    held: list[Work] = []
    token = _deferred.set(held)
    try:
        yield held
    finally:
        _deferred.reset(token)


def _start(work: Work) -> bool:
    if not work.inline:
        return _queue.submit(work)
    # A thread of its own all the same: a job's scoped session must not be the caller's.
    thread = threading.Thread(target=_run, args=(work,), name=f"job:{work.name}")
    _inline_running.append(work)
    try:
        thread.start()
        thread.join()
    finally:
        _inline_running.remove(work)
    return True


def _release(held: list[Work]) -> None:
    while held:
        _start(held.pop(0))


class _Closing:
    """The response body; its ``close`` (the server has sent it) releases the jobs."""

    def __init__(self, body: Iterable[bytes], held: list[Work]) -> None:
        self._body, self._held = body, held

    def __iter__(self):
        return iter(self._body)

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            _release(self._held)


def after_response(wsgi_app):
    """Wrap a WSGI app: jobs its requests ask for are queued once each response is sent."""

    def app(environ, start_response):
        with _holding() as held:
            try:
                body = wsgi_app(environ, start_response)
            except BaseException:
                _release(held)
                raise
        return _Closing(body, held)

    return app


@atexit.register
def _drain_at_exit() -> None:
    if not _queue.wait_idle(EXIT_WAIT_SECONDS):
        log.warning("exiting with in-process jobs unfinished; the job sweeper re-runs them")
