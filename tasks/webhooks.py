"""The webhook dispatcher: one loop per process, many deliveries in flight at once.

It fans committed events out to deliveries, leases the due ones, hands each to a pool of
sender threads (keep-alive connections, bounded time and bytes), and records what came
back, batch by batch. It reads everything it needs from the database, so nothing is
lost when Redis is down or a dispatcher dies: a lease that lapses is picked up again,
with the same event id. ``payymo worker`` runs one in a process of its own; the
embedded default runs one in a thread of ``payymo serve``.
"""

from __future__ import annotations

import logging
import queue
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from integrations.webhooks import signing
from integrations.webhooks.sender import Outcome, Sender
from payymo import db, events, runtime
from payymo.config import Settings
from payymo.db import utcnow
from payymo.services.webhooks import dispatch, retention
from payymo.services.webhooks.targets import policy
from payymo.tenancy import system_scope

log = logging.getLogger(__name__)

FAST_MS = 250  # an endpoint answering within this on average may use every slot
PURGE_EVERY = 3600.0  # seconds between purges of old delivery history


class Dispatcher:
    """Delivers webhooks; ``step`` does one pass, ``start`` runs passes in a thread."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Callable = utcnow,
        sender: Sender | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings or runtime.settings()
        self.clock = clock
        self.concurrency = self.settings.webhook_concurrency
        self.sender = sender or Sender(
            policy=policy(self.settings),
            timeout=self.settings.webhook_timeout_seconds,
            pool_size=self.concurrency,
        )
        self._rng = rng
        self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhook-send")
        self._results: queue.SimpleQueue = queue.SimpleQueue()
        self._in_flight = 0
        self._by_endpoint: Counter[str] = Counter()
        # An endpoint not known to answer fast gets a quarter of the slots at most (a
        # receiver that hangs holds its slots for the whole timeout); one that answers
        # within FAST_MS on average may use them all.
        self.per_endpoint = max(1, self.concurrency // 4)
        self._durations: dict[str, float] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = {"attempts": 0, "delivered": 0}
        self._purged_at = 0.0  # monotonic; the first idle pass purges

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    def _attempt(self, job: dispatch.Job) -> None:
        attempted_at = self.clock()
        try:
            # The signed timestamp is the wall clock: receivers compare it with theirs.
            stamp = int(time.time())
            headers = signing.headers(job.secrets, job.event_id, stamp, job.body)
            outcome = self.sender.send(job.url, job.body, headers)
        except Exception as exc:  # recorded as a failed attempt, never lost
            log.exception("webhook attempt failed inside the sender")
            outcome = Outcome(None, 0, "", f"internal error: {type(exc).__name__}")
        self._results.put(dispatch.Result(job, outcome, attempted_at))
        self._wake.set()

    def cap(self, endpoint_id: str) -> int:
        """How many attempts to ``endpoint_id`` may be in flight at once."""
        average = self._durations.get(endpoint_id)
        fast = average is not None and average < FAST_MS
        return self.concurrency if fast else self.per_endpoint

    def _learn(self, results: list[dispatch.Result]) -> None:
        for result in results:
            endpoint_id, took = result.job.endpoint_id, result.outcome.duration_ms
            before = self._durations.get(endpoint_id)
            self._durations[endpoint_id] = took if before is None else 0.8 * before + 0.2 * took

    def _finished(self) -> list[dispatch.Result]:
        results = []
        while True:
            try:
                results.append(self._results.get_nowait())
            except queue.Empty:
                return results

    def step(self, *, start: bool = True) -> int:
        """One pass: record finished attempts, fan out events, start due deliveries.

        Answers how much it did (0 when there was nothing to do). With ``start=False``
        it only records (when stopping).
        """
        session = db.session
        done = 0
        # Finished attempts are out of flight whether or not recording them succeeds
        # (unrecorded ones keep their lease, which lapses: they are sent again).
        results = self._finished()
        self._in_flight -= len(results)
        self._by_endpoint.subtract(r.job.endpoint_id for r in results)
        self._by_endpoint += Counter()  # drop the zeros
        self._learn(results)
        try:
            with system_scope():
                now = self.clock()
                if results:
                    dispatch.record(session=session, results=results, now=now, rng=self._rng)
                    session.commit()
                    done += len(results)
                    self.sent["attempts"] += len(results)
                    self.sent["delivered"] += sum(r.outcome.ok for r in results)
                jobs = []
                if start:
                    done += dispatch.fan_out(session=session, now=now)
                    session.commit()
                    room = self.concurrency - self._in_flight
                    if room > 0:
                        jobs = dispatch.claim(
                            session=session,
                            now=now,
                            limit=room,
                            in_flight=self._by_endpoint,
                            cap=self.cap,
                        )
                        session.commit()
        except Exception:
            session.rollback()
            log.exception("webhook dispatcher pass failed")
            jobs = []
        finally:
            db.session.remove()
        for job in jobs:
            self._in_flight += 1
            self._by_endpoint[job.endpoint_id] += 1
            self._pool.submit(self._attempt, job)
        return done + len(jobs)

    def drain(self, timeout: float = 30.0) -> None:
        """Pass until nothing is due or in flight (tests, ``--once``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._wake.clear()
            done = self.step()
            if not done and not self._in_flight:
                return
            if not done:
                self._wake.wait(0.05)
        raise TimeoutError(f"webhook deliveries still in flight after {timeout} s")

    def purge(self) -> int:
        """Delete delivery history past its keeping time; answers how many deliveries."""
        session = db.session
        total = 0
        try:
            with system_scope():
                while True:
                    count = retention.purge_history(session=session, now=self.clock())
                    session.commit()
                    total += count
                    if count < retention.BATCH or self._stop.is_set():
                        return total
        except Exception:
            session.rollback()
            log.exception("webhook history purge failed")
            return total
        finally:
            db.session.remove()

    def run(self) -> None:
        """Pass until ``stop``; between idle passes wait for a wake-up or the poll interval.

        An idle dispatcher also purges old delivery history, once an hour.
        """
        events.add_commit_listener(self.wake)
        try:
            while not self._stop.is_set():
                self._wake.clear()
                if self.step():
                    continue
                if time.monotonic() - self._purged_at >= PURGE_EVERY:
                    self._purged_at = time.monotonic()
                    self.purge()
                    continue
                self._wake.wait(self.settings.webhook_poll_interval)
        finally:
            events.remove_commit_listener(self.wake)

    def request_stop(self) -> None:
        """Ask ``run`` to return after the pass in progress."""
        self._stop.set()
        self._wake.set()

    def start(self) -> Dispatcher:
        """Run in a daemon thread; returns self."""
        self._thread = threading.Thread(target=self.run, name="webhook-dispatcher", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop passing, let attempts in flight finish, close connections."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.step(start=False)  # record what finished, so it is not sent again
        self.sender.close()


def run_dispatcher(*, once: bool = False) -> dict | None:
    """Run a dispatcher until interrupted or terminated (``payymo webhooks dispatch``).

    With ``once``: deliver what is due now and answer counts of deliveries by status.
    """
    from payymo.observability import setup_logging

    settings = runtime.settings()  # from the environment in a spawned process
    setup_logging(settings.log_level)
    dispatcher = Dispatcher(settings)
    if once:
        try:
            dispatcher.drain(timeout=settings.webhook_timeout_seconds * 10)
        finally:
            dispatcher.stop()
        return {"delivered": dispatcher.sent["delivered"], "attempts": dispatcher.sent["attempts"]}
    signal.signal(signal.SIGTERM, lambda *_args: dispatcher.request_stop())
    log.info("webhook dispatcher started", extra={"concurrency": dispatcher.concurrency})
    try:
        dispatcher.run()
    except KeyboardInterrupt:
        pass
    finally:
        dispatcher.stop()
    return None
