"""Benchmark: GET /api/v1/transactions?limit=50 under gunicorn on PostgreSQL.

Compares saturated throughput of the full API (auth, tenant scoping, Redis rate limit,
schema serialisation) with a bare Flask view running the same SQL, both served by
gunicorn the same way in the same run, then measures latency at 100 requests/s open
loop. Prints ratios, never bare absolute claims: machines here are shared and noisy.

Usage: .venv/bin/python benchmarks/api.py [--seconds 5] [--rounds 3] [--workers 2]
Needs PostgreSQL and Redis (BENCH_DATABASE_URL / BENCH_REDIS_URL, local defaults).
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import multiprocessing as mp
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_NAME = "payymo_bench"
DB_URL = os.environ.get(
    "BENCH_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
PATH = "/api/v1/transactions?limit=50"
RATIO_GOAL = 0.50
P95_GOAL_MS = 50.0


def prepare_database(n_transactions: int) -> tuple[str, str]:
    """Recreate the bench database, migrate, seed a tenant; return (tenant id, key).

    Seeded as the owner; the API is then served as ``roles.APP_ROLE`` (row-level
    security applies to it, as in production), the bare view as the owner.
    """
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()

    from cryptography.fernet import Fernet

    from payymo import db, migrate, runtime
    from payymo.config import Settings
    from payymo.ids import new_id
    from payymo.models import BankAccount, Transaction
    from payymo.services import api_keys, tenants
    from payymo.tenancy import tenant_scope

    migrate.upgrade(DB_URL)
    runtime.configure(
        Settings(
            env="production",
            database_url=DB_URL,
            redis_url=None,
            secret_key=secrets.token_urlsafe(32),
            encryption_key=Fernet.generate_key().decode(),
            instance_path=Path(tempfile.mkdtemp(prefix="payymo-bench-")),
        )
    )
    session = db.session
    tenant = tenants.create_tenant(session=session, name="Bench Ltd", plan="bench")
    rng = random.Random(7)
    with tenant_scope(tenant.id):
        _, secret = api_keys.create_key(session=session, scopes=["admin"])
        account = BankAccount(name="Main", currency="EUR", kind="manual")
        session.add(account)
        session.flush()
        start = dt.date(2025, 1, 1)
        now = db.utcnow()
        rows = []
        for i in range(n_transactions):
            amount = rng.randint(-50_000, 250_000) or 1
            rows.append(
                Transaction(
                    id=new_id("txn"),
                    account_id=account.id,
                    dedupe_key=f"h:bench:{i}",
                    status="booked",
                    booking_date=start + dt.timedelta(days=i % 600),
                    value_date=start + dt.timedelta(days=i % 600),
                    amount=amount,
                    currency="EUR",
                    counterparty_name=f"Customer {i % 500} GmbH",
                    counterparty_iban="DE89370400440532013000",
                    remittance_information=f"Invoice INV-{100000 + i} thank you",
                    end_to_end_id=f"E2E{i}",
                    match_status="unmatched",
                    created_at=now,
                    updated_at=now,
                )
            )
        session.add_all(rows)
        session.commit()
    # A second tenant with as many rows, so scoping has something to filter out.
    other = tenants.create_tenant(session=session, name="Noise BV", plan="bench")
    with tenant_scope(other.id):
        account = BankAccount(name="Noise", currency="EUR", kind="manual")
        session.add(account)
        session.flush()
        session.add_all(
            Transaction(
                id=new_id("txn"),
                account_id=account.id,
                dedupe_key=f"h:noise:{i}",
                amount=100 + i,
                currency="EUR",
                booking_date=dt.date(2025, 6, 1),
                created_at=now,
                updated_at=now,
            )
            for i in range(n_transactions)
        )
        session.commit()
    tenant_id = tenant.id
    session.remove()
    with db.engine().connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    db.engine().dispose()
    return tenant_id, secret


def start_gunicorn(target: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    """Serve ``target`` with gunicorn (sync workers) and wait until it answers."""
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            target,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn {target} did not start on port {port}")


def stop(proc: subprocess.Popen) -> None:
    """Stop a gunicorn process group."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def _one_request(port: int, headers: dict) -> tuple[int, float]:
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", PATH, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, time.perf_counter() - started


def _closed_loop(port: int, headers: dict, seconds: float, out) -> None:
    done = errors = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        status, _ = _one_request(port, headers)
        if status == 200:
            done += 1
        else:
            errors += 1
    out.put((done, errors))


def saturate(port: int, headers: dict, seconds: float, clients: int) -> float:
    """Requests per second with ``clients`` closed-loop client processes."""
    out: mp.Queue = mp.Queue()
    procs = [
        mp.Process(target=_closed_loop, args=(port, headers, seconds, out)) for _ in range(clients)
    ]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    if errors:
        raise RuntimeError(f"{errors} non-200 answers on port {port}")
    return done / seconds


def open_loop(port: int, headers: dict, rate: int, seconds: float) -> list[float]:
    """Latencies (s) at a fixed arrival rate, timed from each request's scheduled start."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.1
    threads = []

    def fire(scheduled: float) -> None:
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        status, _ = _one_request(port, headers)
        elapsed = time.perf_counter() - scheduled  # counts queueing: no coordinated omission
        if status != 200:
            raise RuntimeError(f"status {status}")
        with lock:
            latencies.append(elapsed)

    for i in range(int(rate * seconds)):
        t = threading.Thread(target=fire, args=(start + i / rate,), daemon=True)
        threads.append(t)
        t.start()
    for t in threads:
        t.join()
    return latencies


def pct(values: list[float], q: float) -> float:
    """The q-th percentile in milliseconds."""
    ordered = sorted(values)
    return ordered[min(int(q / 100 * len(ordered)), len(ordered) - 1)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per saturation run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per server")
    parser.add_argument("--clients", type=int, default=4, help="closed-loop client processes")
    parser.add_argument("--rows", type=int, default=10_000, help="transactions per tenant")
    parser.add_argument("--open-seconds", type=float, default=10.0)
    args = parser.parse_args()

    tenant_id, secret = prepare_database(args.rows)
    from cryptography.fernet import Fernet

    from benchmarks.roles import app_url

    env = {
        **os.environ,
        "PAYYMO_ENV": "production",
        "PAYYMO_DATABASE_URL": app_url(DB_URL),
        "PAYYMO_REDIS_URL": REDIS_URL,
        "PAYYMO_SECRET_KEY": "bench-secret",
        "PAYYMO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PAYYMO_PLAN_RATE_LIMITS": '{"bench": 100000000}',
        "PAYYMO_LOG_LEVEL": "WARNING",
        "BENCH_TENANT_ID": tenant_id,
    }
    api = start_gunicorn("wsgi:app", 18081, args.workers, env)
    bare = start_gunicorn(
        "benchmarks.bare_app:app", 18082, args.workers, {**env, "PAYYMO_DATABASE_URL": DB_URL}
    )
    api_headers = {"X-API-Key": secret}
    try:
        for port, headers in ((18081, api_headers), (18082, {})):  # warm up both
            saturate(port, headers, 1.0, args.clients)
        print(
            f"GET {PATH}: gunicorn {args.workers} sync workers per server, PostgreSQL, "
            f"{args.rows} transactions per tenant, 2 tenants, {args.clients} client processes; "
            "api as a role under row-level security, bare as the owner"
        )
        print(f"{'round':>5}  {'bare req/s':>10}  {'api req/s':>10}  {'ratio':>6}")
        ratios = []
        for r in range(1, args.rounds + 1):
            # Alternate the order so drift in machine load hits both sides alike.
            if r % 2:
                b = saturate(18082, {}, args.seconds, args.clients)
                a = saturate(18081, api_headers, args.seconds, args.clients)
            else:
                a = saturate(18081, api_headers, args.seconds, args.clients)
                b = saturate(18082, {}, args.seconds, args.clients)
            ratios.append(a / b)
            print(f"{r:>5}  {b:>10.0f}  {a:>10.0f}  {a / b:>6.2f}")
        ratio = statistics.median(ratios)
        print(
            f"throughput ratio api/bare (median): {ratio:.2f}  (goal >= {RATIO_GOAL:.2f})  "
            f"{_verdict(ratio >= RATIO_GOAL)}"
        )
        lat_api = open_loop(18081, api_headers, 100, args.open_seconds)
        lat_bare = open_loop(18082, {}, 100, args.open_seconds)
        p95 = pct(lat_api, 95)
        print(
            f"open loop 100 req/s for {args.open_seconds:.0f} s: api p50 {pct(lat_api, 50):.1f} ms, "
            f"p95 {p95:.1f} ms, p99 {pct(lat_api, 99):.1f} ms  (goal p95 <= {P95_GOAL_MS:.0f} ms)  "
            f"{_verdict(p95 <= P95_GOAL_MS)}; bare p95 {pct(lat_bare, 95):.1f} ms; p95 ratio "
            f"api/bare {p95 / pct(lat_bare, 95):.2f}"
        )
    finally:
        stop(api)
        stop(bare)
    if ratio < RATIO_GOAL or p95 > P95_GOAL_MS:
        sys.exit(1)


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    main()
