"""Redis killed, refused or black-holed is not an outage.

Each test runs an app against a Redis of its own: a real ``redis-server`` the test starts
and kills, a closed port, or a socket that accepts and never answers. Never the shared one.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import socket
import subprocess
import threading
import time

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from payymo import create_app, runtime
from payymo.config import DEFAULT_REDIS_CONNECT_TIMEOUT, DEFAULT_REDIS_SOCKET_TIMEOUT
from tests.helpers import ApiClient

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

LIMIT_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server on a port of its own that a test may stop and start again."""

    def __init__(self, port: int, workdir) -> None:
        self.port = port
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for line in self.process.stdout:
            if "Ready to accept connections" in line:
                break
        else:
            raise RuntimeError(f"redis-server did not start on port {self.port}")
        # Keep draining its log so a full pipe can never stall it.
        threading.Thread(target=self.process.stdout.read, daemon=True).start()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@pytest.fixture
def private_redis(tmp_path):
    server = PrivateRedis(_free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.running():
            server.stop()


class BlackHole:
    """A port that accepts connections and never answers a byte; it counts what it accepts."""

    def __init__(self, port: int = 0) -> None:
        self.server = socket.create_server(("127.0.0.1", port), backlog=128)
        self.port = self.server.getsockname()[1]
        self.held: list[socket.socket] = []
        self.probes = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)

    def connections(self) -> int:
        """Connections made so far by anyone but this call, each one accepted before counting."""
        # Connections are accepted in the order they were made: once our own is, so is every
        # earlier one, however slowly the accepting thread runs on a loaded machine.
        before = len(self.held)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5):
            deadline = time.monotonic() + 10
            while len(self.held) <= before:
                assert time.monotonic() < deadline, "the black hole stopped accepting"
                time.sleep(0.005)
            self.probes += 1
        return len(self.held) - self.probes

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.server.close()
        self.thread.join(timeout=5)
        for conn in self.held:
            conn.close()


@pytest.fixture
def black_hole():
    """A port that accepts connections and never answers a byte."""
    hole = BlackHole()
    try:
        yield hole
    finally:
        hole.close()


@pytest.fixture
def app_on(settings, connection):
    """Build an app whose Redis is ``url``; the suite's settings come back afterwards."""

    def build(url: str, **overrides):
        return create_app(settings.with_overrides(redis_url=url, **overrides))

    try:
        yield build
    finally:
        runtime.configure(settings)


def _metric(app, name: str) -> float | None:
    text = app.test_client().get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                return sample.value
    return None


def _redis_warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "payymo.redis" and r.levelno == logging.WARNING]


def _assert_degraded(app) -> None:
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json == {
        "status": "degraded",
        "checks": {"database": "ok", "redis": "unavailable"},
        "degraded": ["redis"],
    }


def _timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def test_a_redis_killed_mid_run_costs_no_request_and_counting_returns_to_it(
    app_on, private_redis, make_tenant, caplog
):
    caplog.set_level(logging.INFO)
    app = app_on(private_redis.url, redis_breaker_seconds=0.2)
    handle = make_tenant("Outage Ltd")
    api = ApiClient(app.test_client(), handle.secret)
    limit = runtime.settings().plan_rate_limits["standard"]
    store = redis.Redis.from_url(private_redis.url, socket_timeout=5)

    def counted_in_redis() -> int:
        keys = list(store.scan_iter(f"payymo:rl:tenant:{handle.tenant_id}:*"))
        return sum(int(store.get(key)) for key in keys)

    assert api.get("invoices").status_code == 200
    assert counted_in_redis() == 1
    assert _metric(app, "payymo_redis_up") == 1
    assert _metric(app, "payymo_ratelimit_fallback_total") == 0

    private_redis.stop()
    down = [api.get("invoices") for _ in range(5)]
    assert [r.status_code for r in down] == [200] * 5
    assert all(name in r.headers for r in down for name in LIMIT_HEADERS)
    # Counted in this process from scratch while Redis is away.
    assert [int(r.headers["X-RateLimit-Remaining"]) for r in down] == [
        limit - n for n in range(1, 6)
    ]
    warnings = _redis_warnings(caplog)
    assert len(warnings) == 1, [w.getMessage() for w in warnings]  # per opening, not request
    assert warnings[0].event == "redis.unavailable"
    assert "rate limits count per process" in warnings[0].getMessage()
    assert _metric(app, "payymo_ratelimit_fallback_total") == 5
    assert _metric(app, "payymo_redis_up") == 0
    _assert_degraded(app)
    # A job asked for now is left queued for the sweeper; the request does not fail.
    run = api.post("reconciliation/run", json={})
    assert run.status_code == 202, run.json
    assert run.json["status"] == "queued"
    assert any(r.getMessage() == "job not enqueued: Redis unavailable" for r in caplog.records)

    private_redis.start()
    # After the cooldown one request probes Redis and counting goes back to it.
    deadline = time.monotonic() + 10
    while counted_in_redis() == 0:
        assert time.monotonic() < deadline, "counting never went back to Redis"
        assert api.get("invoices").status_code == 200
    before = counted_in_redis()
    assert api.get("invoices").status_code == 200
    assert counted_in_redis() == before + 1
    assert _metric(app, "payymo_redis_up") == 1
    assert app.test_client().get("/readyz").json["status"] == "ok"
    assert any(r.getMessage() == "Redis answers again" for r in caplog.records)


def test_a_closed_port_costs_no_request(app_on, make_tenant, caplog):
    caplog.set_level(logging.INFO)
    port = _free_port()
    # A cooldown no loaded machine outlasts here: the breaker stays open throughout.
    app = app_on(f"redis://127.0.0.1:{port}/0", redis_breaker_seconds=60)
    api = ApiClient(app.test_client(), make_tenant("Refused Ltd").secret)
    first, took = _timed(lambda: api.get("invoices"))
    assert first.status_code == 200
    assert all(name in first.headers for name in LIMIT_HEADERS)
    # Refused at once, and no retry waits: the wall clock only bounds a hang, loosely.
    assert took < 20 * DEFAULT_REDIS_CONNECT_TIMEOUT, took
    assert len(_redis_warnings(caplog)) == 1
    # The breaker is open: something listening on the port now is not even tried.
    hole = BlackHole(port)
    try:
        rest = [api.get("invoices") for _ in range(9)]
        assert [r.status_code for r in rest] == [200] * 9
        assert all(name in r.headers for r in rest for name in LIMIT_HEADERS)
        _assert_degraded(app)
        run = api.post("reconciliation/run", json={})
        assert run.status_code == 202, run.json
        assert hole.connections() == 0
    finally:
        hole.close()
    assert len(_redis_warnings(caplog)) == 1
    assert _metric(app, "payymo_ratelimit_fallback_total") == 11  # ten reads and the run
    assert _metric(app, "payymo_redis_up") == 0


def test_a_black_holed_redis_costs_one_short_timeout_then_nothing(
    app_on, black_hole, make_tenant, caplog
):
    caplog.set_level(logging.INFO)
    app = app_on(f"redis://127.0.0.1:{black_hole.port}/0")  # default timeouts and breaker
    api = ApiClient(app.test_client(), make_tenant("Black Hole Ltd").secret)

    first, took = _timed(lambda: api.get("invoices"))
    assert first.status_code == 200
    assert all(name in first.headers for name in LIMIT_HEADERS)
    # One connection, one read that timed out: not a hang, not a retry. The wall clock only
    # bounds a hang, loosely, as a loaded machine may add seconds to any request.
    assert black_hole.connections() == 1
    warnings = _redis_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].error == "TimeoutError"  # it really waited on the silent socket
    assert took < 20 * DEFAULT_REDIS_SOCKET_TIMEOUT, took

    # The breaker is open: the next requests do not touch Redis at all.
    rest = [api.get("invoices") for _ in range(10)]
    assert [r.status_code for r in rest] == [200] * 10
    run = api.post("reconciliation/run", json={})
    assert run.status_code == 202, run.json
    ready = app.test_client().get("/readyz")
    assert ready.json["status"] == "degraded"
    assert black_hole.connections() == 1
    assert len(_redis_warnings(caplog)) == 1
    assert _metric(app, "payymo_ratelimit_fallback_total") == 12
