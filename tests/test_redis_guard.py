"""The circuit breaker in front of Redis: open after a failure, one probe per cooldown."""

from __future__ import annotations

import threading
import time

from payymo.redis_guard import CircuitBreaker

COOLDOWN = 0.05
# Long enough that no thread released by the barrier lags a whole cooldown behind the others.
RACE_COOLDOWN = 0.5


def _after_cooldown(opened_at: float, cooldown: float = COOLDOWN) -> None:
    # The cooldown is the behaviour under test: spin on the clock until it has passed.
    while time.monotonic() <= opened_at + cooldown:
        pass


def _allow_from_threads(breaker: CircuitBreaker, n: int = 8) -> list[bool]:
    barrier = threading.Barrier(n)
    results: list[bool] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait(timeout=10)
        allowed = breaker.allow()
        with lock:
            results.append(allowed)

    threads = [threading.Thread(target=call) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == n
    return results


def test_a_failure_opens_it_and_calls_skip_until_the_cooldown():
    breaker = CircuitBreaker(cooldown=COOLDOWN)
    assert breaker.closed and breaker.allow()
    assert breaker.failed() is True  # it opened
    opened_at = time.monotonic()
    assert not breaker.closed
    assert breaker.openings == 1
    assert not breaker.allow()
    assert breaker.failed() is False  # already open: not a new opening
    assert breaker.openings == 1
    _after_cooldown(opened_at)
    assert breaker.allow()  # the probe


def test_after_the_cooldown_exactly_one_caller_probes():
    breaker = CircuitBreaker(cooldown=RACE_COOLDOWN)
    breaker.failed()
    _after_cooldown(time.monotonic(), RACE_COOLDOWN)
    assert sorted(_allow_from_threads(breaker)) == [False] * 7 + [True]
    # The probe failed: open again, and again one probe after the cooldown.
    breaker.failed()
    opened_at = time.monotonic()
    assert not breaker.allow()
    _after_cooldown(opened_at, RACE_COOLDOWN)
    assert breaker.allow()
    # The probe succeeded: closed, everyone goes to Redis.
    assert breaker.succeeded() is True
    assert breaker.closed
    assert _allow_from_threads(breaker) == [True] * 8
    assert breaker.succeeded() is False
