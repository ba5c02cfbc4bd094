"""Benchmark: a paying line is matched seconds after it arrives, whatever the backlog.

One tenant on PostgreSQL with a long tail of credits nothing will ever explain (refunds,
transfers, interest: different payers, odd amounts, order numbers no invoice carries)
and open invoices, generated in bulk by the database; its first run, a full one, fills
the look-up tables. Then imports of 20 lines (half paying an invoice by its reference,
half by its amount and its customer's name) are sent through the API at a steady rate,
while a real ``payymo worker`` reconciles; a watcher times each paying line from the
moment its import was sent until its decision (a match, or a suggestion when amount and
name alone are not enough to confirm) is committed. The incremental runs' own times
come from their job records. Then, on the same state, one more incremental run settles
what the last one wrote, and a full run is timed: its decisions must be those already
made (it writes nothing).

Goals (issue 16): import-to-decided p95 <= 1 s; an incremental run >= 100x cheaper
than a full run (median run against the full run, measured in the same run); the full
run decides nothing differently.

Usage: .venv/bin/python benchmarks/incremental.py [--credits 1000000] [--invoices 200000]
       [--imports 200] [--rate 10] [--reuse]
Needs PostgreSQL and Redis (BENCH_ADMIN_URL, BENCH_INCREMENTAL_URL, BENCH_REDIS_URL;
local defaults). ``--reuse`` measures a database a previous run left (its backlog and
look-up tables), skipping the generation and (unless ``--refill``) the first full run.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_NAME = "payymo_incremental"
DB_URL = os.environ.get(
    "BENCH_INCREMENTAL_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8")
P95_GOAL_S = 1.0
CHEAPER_GOAL = 100.0
CUSTOMERS = 5_000
CHUNK = 250_000
TENANT_NAME = "Backlog Ltd"

_INVOICES_SQL = f"""
    INSERT INTO invoices (id, tenant_id, external_id, number, customer_name, customer_email,
        amount_due, amount_paid, amount_charged, currency, issue_date, due_date, status,
        metadata, created_at, updated_at)
    SELECT 'inv_01' || lpad(upper(to_hex(g)), 24, '0'), :tenant, 'ERP-' || g,
        'INV-' || lpad(g::text, 7, '0'),
        'Customer ' || (g % {CUSTOMERS}) || ' GmbH', 'ap' || (g % {CUSTOMERS}) || '@example.com',
        (1000 + (g * 7919) % 490000) * 10, 0, 0, 'EUR',
        DATE '2026-10-01' + (g % 50)::int, DATE '2026-10-31' + (g % 50)::int, 'open', '{{}}',
        now(), now()
    FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g
"""
# Amounts end in 7 (invoices owe whole tens), payers and texts name nothing an invoice
# carries: a backlog no invoice explains, as refunds, transfers and interest are.
_BACKLOG_SQL = """
    INSERT INTO transactions (id, tenant_id, account_id, dedupe_key, provider_id, status,
        booking_date, value_date, amount, amount_allocated, currency, counterparty_name,
        remittance_information, match_status, created_at, updated_at)
    SELECT 'txn_01' || lpad(upper(to_hex(g)), 24, '0'), :tenant, :account, 'b:' || g,
        'backlog-' || g, 'booked', DATE '2024-01-01' + (g % 1000)::int, DATE '2024-01-01' + (g % 1000)::int,
        (10 + (g * 104729) % 900000) * 10 + 7, 0, 'EUR',
        'Payer ' || translate(lpad((g % 50000)::text, 5, '0'), '0123456789', 'abcdefghij'),
        'Refund order 9' || lpad(g::text, 7, '0'), 'unmatched', now(), now()
    FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g
"""


def _engine(url: str, **kwargs):
    from sqlalchemy import create_engine

    return create_engine(url, **kwargs)


def configure(url: str) -> None:
    """The app on ``url``; jobs go to Redis (an import asks for a run, a worker runs it)."""
    from cryptography.fernet import Fernet

    from payymo import runtime
    from payymo.config import Settings

    runtime.configure(
        Settings(
            env="production",
            database_url=url,
            redis_url=REDIS_URL,
            secret_key=secrets.token_urlsafe(32),
            encryption_key=Fernet.generate_key().decode(),
            instance_path=Path(tempfile.mkdtemp(prefix="payymo-incremental-")),
            plan_rate_limits={"standard": 10**9},
            log_level="WARNING",
        )
    )


def generate(credits: int, invoices: int) -> None:
    """Drop and recreate the database; one tenant, its backlog and invoices, in bulk."""
    from sqlalchemy import text

    from payymo import db, migrate
    from payymo.models import BankAccount
    from payymo.services import tenants
    from payymo.tenancy import tenant_scope

    admin = _engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    migrate.upgrade(DB_URL)
    configure(DB_URL)
    session = db.session
    tenant = tenants.create_tenant(session=session, name=TENANT_NAME)
    with tenant_scope(tenant.id):
        account = BankAccount(name="Main", currency="EUR", kind="manual")
        session.add(account)
        session.commit()
        account_id = account.id
    session.remove()
    owner = _engine(DB_URL)
    started = time.perf_counter()
    for sql, total in ((_INVOICES_SQL, invoices), (_BACKLOG_SQL, credits)):
        for low in range(1, total + 1, CHUNK):
            with owner.begin() as conn:
                conn.execute(
                    text(sql),
                    {
                        "tenant": tenant.id,
                        "account": account_id,
                        "low": low,
                        "high": min(low + CHUNK - 1, total),
                    },
                )
    with owner.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("VACUUM ANALYZE"))
    owner.dispose()
    print(
        f"  generated {credits:,} backlog credits and {invoices:,} open invoices "
        f"in {time.perf_counter() - started:.0f} s",
        flush=True,
    )


def vacuum_lookups() -> None:
    """Vacuum the look-up tables a full run rewrote, and the change log it emptied, as
    autovacuum would.

    Autovacuum is off on these machines; on a server migration 0024's settings vacuum
    the look-up tables after 1% changed, and the change log after 10,000 dead rows (the
    generated backlog left 1.2M: every run's read of the log stepped over them, 11 to
    60 ms). Left with a rebuild's dead rows, every look-up steps over them.
    """
    from sqlalchemy import text

    tables = (
        "reconcile_keys",
        "reconcile_items",
        "reconcile_words",
        "reconcile_name_customers",
        "reconcile_changes",
    )
    owner = _engine(DB_URL, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f"VACUUM ANALYZE {', '.join(tables)}"))
    owner.dispose()


def drop_queued_jobs() -> None:
    """Delete reconcile jobs left queued: their Redis entries went with the flush.

    A run request joins the tenant's queued job (runs coalesce per tenant), so one left
    by an interrupted run would take in every import until the job sweep re-enqueued it.
    """
    from sqlalchemy import text

    owner = _engine(DB_URL)
    with owner.begin() as conn:
        conn.execute(text("DELETE FROM jobs WHERE type = 'reconcile' AND status = 'queued'"))
    owner.dispose()


def _tenant() -> dict:
    from sqlalchemy import select

    from payymo import db
    from payymo.models import BankAccount, Tenant
    from payymo.services import api_keys
    from payymo.tenancy import system_scope, tenant_scope

    session = db.session
    with system_scope():
        tenant = session.scalars(select(Tenant).where(Tenant.name == TENANT_NAME)).one()
    with tenant_scope(tenant.id):
        _key, secret = api_keys.create_key(session=session, scopes=["admin"])
        account = session.scalars(select(BankAccount)).first()
        session.commit()
    session.remove()
    return {"tenant": tenant.id, "key": secret, "account": account.id}


def timed_run(tenant_id: str, *, full: bool) -> tuple[float, dict]:
    """Seconds and counts of one run, here in this process (as a worker runs it)."""
    from payymo import db
    from payymo.services.reconciliation.run import run_reconciliation
    from payymo.tenancy import tenant_scope

    session = db.session
    started = time.perf_counter()
    with tenant_scope(tenant_id):
        counts = run_reconciliation(session=session, full=full)
    took = time.perf_counter() - started
    session.remove()
    return took, counts


def decisions(tenant_id: str) -> tuple:
    """Every match and suggestion of the tenant (what a run decides)."""
    from sqlalchemy import select

    from payymo import db
    from payymo.models import Match, Suggestion
    from payymo.tenancy import tenant_scope

    session = db.session
    with tenant_scope(tenant_id):
        matches = sorted(
            (m.id, m.transaction_id, m.status, m.amount) for m in session.scalars(select(Match))
        )
        suggestions = sorted(
            (s.id, s.transaction_id, s.status, s.rank, s.confidence)
            for s in session.scalars(select(Suggestion))
        )
    session.remove()
    return matches, suggestions


def _invoice_facts(tenant_id: str, count: int) -> list[tuple[str, str, int]]:
    """(number, customer name, amount) of ``count`` open invoices spread over the tenant."""
    from sqlalchemy import select

    from payymo import db
    from payymo.models import Invoice
    from payymo.tenancy import tenant_scope

    session = db.session
    with tenant_scope(tenant_id):
        rows = session.execute(
            select(Invoice.number, Invoice.customer_name, Invoice.amount_due)
            .where(Invoice.status == "open")
            .order_by(Invoice.external_id)
            .limit(count * 7)
        ).all()
    session.remove()
    return [tuple(row) for row in rows[::7][:count]]


class Watcher(threading.Thread):
    """Polls the paying lines' match status; records when each is first decided."""

    def __init__(self, url: str, account_id: str) -> None:
        super().__init__(daemon=True)
        self.engine = _engine(url)
        self.account_id = account_id
        self.pending: dict[str, float] = {}  # provider line id → when its import was sent
        self.decided: dict[str, float] = {}  # provider line id → seconds to decided
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def expect(self, line_ids: list[str], sent: float) -> None:
        with self.lock:
            self.pending.update(dict.fromkeys(line_ids, sent))

    def run(self) -> None:
        from sqlalchemy import text

        from payymo.services.dedupe import id_key

        # By the account's dedupe keys (a unique index): a scan of the million lines
        # for their provider ids, four times a second, took a core from what it watched.
        query = text(
            "SELECT provider_id FROM transactions WHERE account_id = :account"
            " AND dedupe_key = ANY(:keys) AND match_status IN ('matched', 'suggested')"
        )
        while not self.stop.is_set():
            with self.lock:
                waiting = [id_key(line_id) for line_id in self.pending]
            if waiting:
                with self.engine.connect() as conn:
                    params = {"account": self.account_id, "keys": waiting}
                    found = conn.execute(query, params).scalars().all()
                now = time.perf_counter()
                with self.lock:
                    for line_id in found:
                        self.decided[line_id] = now - self.pending.pop(line_id)
            time.sleep(0.02)

    def wait(self, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            with self.lock:
                if not self.pending:
                    return True
            time.sleep(0.05)
        return False


def _worker(app_url: str) -> subprocess.Popen:
    from cryptography.fernet import Fernet

    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "PAYYMO_ENV": "production",
        "PAYYMO_DATABASE_URL": app_url,
        "PAYYMO_REDIS_URL": REDIS_URL,
        "PAYYMO_SECRET_KEY": secrets.token_urlsafe(32),
        "PAYYMO_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "PAYYMO_LOG_LEVEL": "WARNING",
    }
    payymo = Path(sys.executable).parent / "payymo"
    return subprocess.Popen(
        [str(payymo), "worker", "--no-webhooks"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def _lines(tag: str, batch: int, facts: list[tuple[str, str, int]]) -> list[dict]:
    """20 paying lines: the first half by reference, the second by amount and name."""
    half = len(facts) // 2
    lines = []
    for n, (number, customer, amount) in enumerate(facts):
        by_reference = n < half
        lines.append(
            {
                "id": f"pay-{tag}-{batch}-{n}",
                "booking_date": "2026-11-20",
                "amount": amount,
                "currency": "EUR",
                "counterparty_name": customer if not by_reference else "ACCOUNTS DEPT",
                "remittance_information": f"Payment {number}" if by_reference else "thanks",
            }
        )
    return lines


def drive(tenant: dict, *, imports: int, lines: int, rate: float, watcher: Watcher) -> None:
    """Send the imports at ``rate`` per second, each noted with the watcher when sent."""
    from payymo import create_app, runtime

    client = create_app(runtime.settings()).test_client()
    headers = {"X-API-Key": tenant["key"]}
    facts = _invoice_facts(tenant["tenant"], imports * lines)
    tag = secrets.token_hex(3)  # a rerun (--reuse) imports new lines, not duplicates
    started = time.perf_counter()
    for batch in range(imports):
        due = started + batch / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        body = {
            "account_id": tenant["account"],
            "transactions": _lines(tag, batch, facts[batch * lines : (batch + 1) * lines]),
        }
        sent = time.perf_counter()
        watcher.expect([line["id"] for line in body["transactions"]], sent)
        response = client.post("/api/v1/transactions/import", json=body, headers=headers)
        assert response.status_code == 200, response.get_json()


def _run_times(tenant_id: str, since) -> list[float]:
    """Seconds each incremental reconcile job of the tenant queued ``since`` ran."""
    from sqlalchemy import select

    from payymo import db
    from payymo.models import Job
    from payymo.tenancy import tenant_scope

    session = db.session
    with tenant_scope(tenant_id):
        jobs = session.scalars(
            select(Job).where(
                Job.type == "reconcile", Job.status == "succeeded", Job.created_at >= since
            )
        ).all()
    session.remove()
    return [
        (job.finished_at - job.started_at).total_seconds()
        for job in jobs
        if job.started_at and job.finished_at and job.result.get("mode") == "incremental"
    ]


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--credits", type=int, default=1_000_000)
    parser.add_argument("--invoices", type=int, default=200_000)
    parser.add_argument("--imports", type=int, default=200)
    parser.add_argument("--lines", type=int, default=20)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--refill", action="store_true", help="with --reuse: a full run first all the same"
    )
    args = parser.parse_args()

    import roles

    configure(DB_URL)
    if not args.reuse:
        print(f"generating {args.credits:,} backlog credits, {args.invoices:,} invoices ...")
        generate(args.credits, args.invoices)
    else:
        from payymo import migrate

        migrate.upgrade(DB_URL)  # a database an older checkout left
    app_url = roles.app_url(DB_URL)
    configure(app_url)
    from payymo import runtime
    from payymo.db import utcnow

    tenant = _tenant()
    if not args.reuse or args.refill:
        took, counts = timed_run(tenant["tenant"], full=True)
        print(
            f"  first (full) run: {took:.1f} s, {counts['transactions_considered']:,} credits,"
            f" {counts['invoices_considered']:,} invoices, look-up tables filled",
            flush=True,
        )
    vacuum_lookups()
    runtime.redis_connection().flushdb()
    drop_queued_jobs()
    watcher = Watcher(DB_URL, tenant["account"])
    watcher.start()
    worker = _worker(app_url)
    try:
        time.sleep(3)  # the worker imports and listens before the clock starts
        since = utcnow()
        started = time.perf_counter()
        drive(tenant, imports=args.imports, lines=args.lines, rate=args.rate, watcher=watcher)
        all_decided = watcher.wait(timeout=300)
        span = time.perf_counter() - started
    finally:
        watcher.stop.set()
        worker.terminate()
        worker.wait(60)
    latencies = list(watcher.decided.values())
    runs = _run_times(tenant["tenant"], since)
    settle, _ = timed_run(tenant["tenant"], full=False)
    before = decisions(tenant["tenant"])
    full_took, full_counts = timed_run(tenant["tenant"], full=True)
    after = decisions(tenant["tenant"])
    identical = before == after

    missed = 0
    paying = args.imports * args.lines
    print(
        f"\n{paying:,} paying lines in {args.imports} imports of {args.lines} at "
        f"{args.rate:g}/s over {span:.1f} s; backlog {full_counts['transactions_considered']:,}"
        f" open credits, {full_counts['invoices_considered']:,} open invoices"
    )
    print(f"  decided: {len(latencies):,} of {paying:,}" + ("" if all_decided else " (timed out)"))
    if latencies:
        p50, p95, p99 = (_pct(latencies, q) for q in (0.5, 0.95, 0.99))
        ok = all_decided and p95 <= P95_GOAL_S
        missed += not ok
        print(
            f"  import to decided, s   p50 {p50:.3f}   p95 {p95:.3f}   p99 {p99:.3f}"
            f"   goal p95 <= {P95_GOAL_S:g} s: {'met' if ok else 'MISSED'}"
        )
    else:
        missed += 1
        print("  import to decided: nothing decided: MISSED")
    median_run = statistics.median(runs) if runs else float("nan")
    cheaper = full_took / median_run if runs else 0.0
    ok = cheaper >= CHEAPER_GOAL
    missed += not ok
    print(
        f"  incremental runs: {len(runs)}, median {median_run * 1000:.0f} ms, "
        f"p95 {_pct(runs, 0.95) * 1000:.0f} ms; settling run {settle * 1000:.0f} ms"
        if runs
        else "  incremental runs: none recorded"
    )
    print(
        f"  full run of the same state: {full_took:.1f} s   {cheaper:,.0f}x the median run"
        f"   goal >= {CHEAPER_GOAL:g}x: {'met' if ok else 'MISSED'}"
    )
    missed += not identical
    print(
        f"  full run's decisions identical to the incremental runs' ({len(before[0]):,} matches,"
        f" {len(before[1]):,} suggestions): {'met' if identical else 'MISSED'}"
    )
    if missed:
        print(f"\n{missed} goal(s) missed")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
