"""Webhook delivery: commit-to-receipt latency at 50 and 200 events/s, and throughput
against an RQ fork-per-delivery baseline, on PostgreSQL.

A receiver on loopback (keep-alive HTTP/1.1, answering 200 at once) records when each
``webhook-id`` arrives. The dispatcher runs as ``payymo worker`` runs it: a process of its
own (spawned), polling the database. For latency a producer commits one event per
transaction at a steady rate for a few seconds and notes each commit time; latency is
receipt minus commit, per event. For throughput N events are committed at once and
timed until the receiver has all N: once with the dispatcher, once with a baseline that
enqueues one RQ job per delivery, run by a forking RQ worker
(``benchmarks/webhook_baseline.py``). Both sides run in the same run, on the same
machine. Every event must arrive; duplicates (at-least-once retries) are counted.

Environment: BENCH_ADMIN_URL, BENCH_WEBHOOKS_DB (default payymo_bench_webhooks),
BENCH_WEBHOOKS_REDIS_URL (default redis://127.0.0.1:6379/12), BENCH_LATENCY_SECONDS (8),
BENCH_THROUGHPUT_EVENTS (2000), BENCH_BASELINE_EVENTS (300).
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = os.environ.get("BENCH_WEBHOOKS_DB", "payymo_bench_webhooks")
OWNER_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_WEBHOOKS_REDIS_URL", "redis://127.0.0.1:6379/12")
LATENCY_SECONDS = float(os.environ.get("BENCH_LATENCY_SECONDS", "8"))
THROUGHPUT_EVENTS = int(os.environ.get("BENCH_THROUGHPUT_EVENTS", "2000"))
BASELINE_EVENTS = int(os.environ.get("BENCH_BASELINE_EVENTS", "300"))
RATES = (50, 200)
P99_GOAL = 1.0  # seconds, at 200 events/s
THROUGHPUT_GOAL = 5.0  # times the baseline


class Receiver:
    """Counts arrivals per webhook-id with their time."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                now = time.time()
                with receiver._lock:
                    receiver.arrivals.setdefault(self.headers["webhook-id"], []).append(now)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def count(self, ids) -> int:
        with self._lock:
            return sum(1 for i in ids if i in self.arrivals)

    def wait_for(self, ids: list[str], timeout: float) -> float:
        """Block until every id arrived; answers the time the last one did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.count(ids) == len(ids):
                with self._lock:
                    return max(self.arrivals[i][0] for i in ids)
            time.sleep(0.01)
        raise TimeoutError(f"{len(ids) - self.count(ids)} of {len(ids)} events never arrived")


def _environment(app_url: str) -> dict[str, str]:
    return {
        "PAYYMO_ENV": "development",  # http to a loopback receiver is allowed
        "PAYYMO_DATABASE_URL": app_url,
        "PAYYMO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PAYYMO_SECRET_KEY": secrets.token_urlsafe(32),
        "PAYYMO_LOG_LEVEL": "WARNING",
    }


def _setup() -> tuple[str, str]:
    from benchmarks.roles import app_url
    from payymo import db, migrate, runtime
    from payymo.config import load_settings
    from payymo.services import tenants

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    migrate.upgrade(OWNER_URL)
    url = app_url(OWNER_URL)
    os.environ.update(_environment(url))
    runtime.configure(load_settings())
    tenant = tenants.create_tenant(session=db.session, name="Bench Ltd", default_currency="EUR")
    db.session.commit()
    return url, tenant.id


def _subscribe(tenant_id: str, url: str) -> str:
    from payymo import db
    from payymo.services.webhooks import endpoints
    from payymo.tenancy import tenant_scope

    with tenant_scope(tenant_id):
        endpoint, _secret = endpoints.create_endpoint(
            session=db.session, url=url, event_types=["invoice.paid"]
        )
        db.session.commit()
        return endpoint.id


def _emit(tenant_id: str, count: int) -> list[str]:
    """``count`` events in one transaction; answers their ids."""
    from payymo import db, events
    from payymo.tenancy import tenant_scope

    with tenant_scope(tenant_id):
        made = [
            events.emit(db.session, "invoice.paid", {"object": {"id": f"inv_{n}", "n": n}})
            for n in range(count)
        ]
        db.session.flush()
        ids = [e.id for e in made]
        db.session.commit()
    return ids


def _produce(tenant_id: str, rate: int, seconds: float) -> dict[str, float]:
    """One event per transaction at ``rate`` per second; answers commit times by id."""
    committed: dict[str, float] = {}
    interval = 1.0 / rate
    start = time.monotonic()
    for n in range(int(rate * seconds)):
        pause = start + n * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        [event_id] = _emit(tenant_id, 1)
        committed[event_id] = time.time()
    return committed


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def _goal(label: str, value: float, goal: float, *, higher: bool, unit: str) -> bool:
    met = value >= goal if higher else value <= goal
    sign = ">=" if higher else "<="
    print(
        f"  {label:<38} {value:>8.2f} {unit:<2} goal {sign} {goal:g}{unit}  "
        f"{'met' if met else 'MISSED'}"
    )
    return met


def _dispatcher_process():
    from payymo import jobs

    process = multiprocessing.get_context("spawn").Process(
        target=jobs.resolve("tasks.webhooks.run_dispatcher"), daemon=True
    )
    process.start()
    return process


def _fan_out_now(event_ids: list[str]) -> list[str]:
    """Deliveries for ``event_ids`` (what the dispatcher's fan-out does), for the baseline."""
    from payymo import db
    from payymo.db import utcnow
    from payymo.services.webhooks import dispatch
    from payymo.tenancy import system_scope

    with system_scope():
        while dispatch.fan_out(session=db.session, now=utcnow()):
            db.session.commit()
        db.session.commit()
        rows = (
            db.session.execute(
                text("SELECT id FROM webhook_deliveries WHERE event_id = ANY(:ids)"),
                {"ids": event_ids},
            )
            .scalars()
            .all()
        )
        db.session.commit()
    return list(rows)


def _baseline(tenant_id: str, receiver: Receiver) -> float:
    """Events per second through one RQ job (one fork) per delivery."""
    import redis
    from rq import Queue

    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    event_ids = _emit(tenant_id, BASELINE_EVENTS)
    deliveries = _fan_out_now(event_ids)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PAYYMO_REDIS_URL": REDIS_URL}
    # The worker imports the job's module before it forks, as a tuned RQ setup would: each
    # work horse inherits the imports and pays only for its fork, connection and request.
    launch = (
        "import benchmarks.webhook_baseline, redis; from rq import Queue, Worker; "
        f"c = redis.Redis.from_url({REDIS_URL!r}); "
        "Worker([Queue('bench', connection=c)], connection=c).work(logging_level='WARNING')"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", launch],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)  # the worker imports and starts listening before the clock starts
        queue = Queue("bench", connection=conn)
        started = time.time()
        for delivery_id in deliveries:
            queue.enqueue("benchmarks.webhook_baseline.send_one", delivery_id)
        last = receiver.wait_for(event_ids, timeout=600)
    finally:
        worker.terminate()
        worker.wait(30)
    return len(event_ids) / (last - started)


def _throughput(tenant_id: str, receiver: Receiver) -> float:
    """Events per second through the dispatcher (already running)."""
    started = time.time()
    event_ids = _emit(tenant_id, THROUGHPUT_EVENTS)
    last = receiver.wait_for(event_ids, timeout=600)
    return len(event_ids) / (last - started)


def main() -> int:
    receiver = Receiver()
    _url, tenant_id = _setup()
    _subscribe(tenant_id, receiver.url)
    dispatcher = _dispatcher_process()
    ok = True
    try:
        warm = _emit(tenant_id, 20)  # the dispatcher is up and its connections are open
        receiver.wait_for(warm, timeout=120)
        print(
            "webhooks: commit to receipt, one event per transaction, dispatcher in its own process"
        )
        for rate in RATES:
            committed = _produce(tenant_id, rate, LATENCY_SECONDS)
            receiver.wait_for(list(committed), timeout=120)
            latency = [receiver.arrivals[i][0] - t for i, t in committed.items()]
            p50, p99 = _percentile(latency, 0.50), _percentile(latency, 0.99)
            print(
                f"  {rate:>4} events/s, {len(committed)} events:  p50 {p50 * 1000:6.0f} ms"
                f"   p99 {p99 * 1000:6.0f} ms   max {max(latency) * 1000:6.0f} ms"
            )
            if rate == max(RATES):
                ok &= _goal(f"p99 at {rate} events/s", p99, P99_GOAL, higher=False, unit="s")
        ours = _throughput(tenant_id, receiver)
    finally:
        dispatcher.terminate()
        dispatcher.join(30)
    theirs = _baseline(tenant_id, receiver)
    print(
        f"throughput: {THROUGHPUT_EVENTS} events through the dispatcher, "
        f"{BASELINE_EVENTS} through RQ (one forked job per delivery)"
    )
    print(f"  dispatcher {ours:8.1f} events/s   baseline {theirs:8.1f} events/s")
    ok &= _goal("throughput ratio", ours / theirs, THROUGHPUT_GOAL, higher=True, unit="x")
    sent = Counter({i: len(times) for i, times in receiver.arrivals.items()})
    duplicates = sum(n - 1 for n in sent.values())
    print(
        f"  every event arrived: {len(sent)} distinct ids, {duplicates} duplicates"
        f"  {'met' if duplicates == 0 else 'MISSED'}"
    )
    ok &= duplicates == 0
    print(f"exit {0 if ok else 1}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
