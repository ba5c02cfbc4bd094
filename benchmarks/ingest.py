"""Bank sync ingestion: the real sync job against a row-by-row ORM baseline, on PostgreSQL.

100,000 transactions are served by the fake GoCardless over HTTP (loopback) and ingested
by ``tasks.bank_sync.sync_connection`` — the job a worker runs — and by a baseline that
fetches the same page through the same client and writes each line through the ORM (look
it up, add it and its event, flush; one commit at the end, the same all-or-nothing). Both
run twice: a first load, then a re-sync where every row is already known (the job's
window is reset to the whole history, so it re-reads all 100k). Ratios are baseline time
over job time, measured in the same run. Then a month at scale: 1,000,000 transactions
across 200 accounts synced (20 connections of 10 accounts) and reconciled against 200,000
open invoices by the real jobs, timed end to end (goal: within 120 s on 2 cores).

Environment: BENCH_ADMIN_URL, BENCH_INGEST_DB (default payymo_bench_ingest),
BENCH_INGEST_REDIS_URL (default redis://127.0.0.1:6379/13: jobs are queued, not run, so
each job is timed on its own), BENCH_INGEST_ROWS (100000), BENCH_MONTH_ROWS (1000000),
BENCH_MONTH_INVOICES (200000), BENCH_SKIP_MONTH=1.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path

import requests
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = os.environ.get("BENCH_INGEST_DB", "payymo_bench_ingest")
DB_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
REDIS_URL = os.environ.get("BENCH_INGEST_REDIS_URL", "redis://127.0.0.1:6379/13")
ROWS = int(os.environ.get("BENCH_INGEST_ROWS", "100000"))
MONTH_ROWS = int(os.environ.get("BENCH_MONTH_ROWS", "1000000"))
MONTH_INVOICES = int(os.environ.get("BENCH_MONTH_INVOICES", "200000"))
MONTH_ACCOUNTS = 200
PER_CONNECTION = 10
GOALS = {"first": 50.0, "again": 40.0}
MONTH_GOAL_SECONDS = 120.0
SANDBOX = "SANDBOXFINANCE_SFIN0000"
TODAY = dt.date.today()


def _setup():
    import redis

    from benchmarks.roles import app_url
    from integrations.gocardless.fake import FakeGoCardless, serve_in_thread
    from payymo import migrate, runtime
    from payymo.config import Settings

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    migrate.upgrade(DB_URL)
    redis.Redis.from_url(REDIS_URL).flushdb()
    local = serve_in_thread(FakeGoCardless(daily_limit=1_000_000))
    runtime.configure(
        Settings(
            env="development",
            database_url=app_url(DB_URL),
            redis_url=REDIS_URL,
            secret_key=secrets.token_urlsafe(32),
            encryption_key=Fernet.generate_key().decode(),
            instance_path=Path(tempfile.mkdtemp(prefix="payymo-bench-")),
            bank_sync_daily_budget=1_000_000,
            provider_env={
                "PAYYMO_GOCARDLESS_BASE_URL": local.base_url,
                "PAYYMO_GOCARDLESS_SECRET_ID": local.credentials["secret_id"],
                "PAYYMO_GOCARDLESS_SECRET_KEY": local.credentials["secret_key"],
            },
        )
    )
    return local


def _walk(link: str) -> dict:
    host = link.split("/")[2]
    url = link
    while True:
        response = requests.get(url, allow_redirects=False, timeout=10)
        location = response.headers["Location"]
        if location.startswith("/"):
            url = f"http://{host}{location}"
            continue
        return dict(p.split("=", 1) for p in location.split("?", 1)[1].split("&"))


def _connect(tenant_id: str) -> str:
    """A linked connection through the real consent flow (services, fake bank)."""
    from payymo import db
    from payymo.services.banking import connections
    from payymo.tenancy import tenant_scope

    session = db.session
    with tenant_scope(tenant_id):
        conn = connections.create_connection(
            session=session,
            institution_id=SANDBOX,
            redirect_url="http://127.0.0.1:9/done",
            callback_url="http://127.0.0.1:9/callback",
        )
        session.commit()
        params = _walk(conn.link)
        connections.complete_consent(session=session, connection_id=conn.id, params=params)
        session.commit()
        return conn.id


def _tenant(name: str) -> str:
    from payymo import db
    from payymo.services import tenants

    tenant = tenants.create_tenant(session=db.session, name=name, default_currency="EUR")
    db.session.commit()
    return tenant.id


def _count(tenant_id: str, account_ids=None) -> tuple[int, int]:
    from payymo import db
    from payymo.models import Transaction
    from payymo.tenancy import tenant_scope

    with tenant_scope(tenant_id):
        stmt = select(func.count(), func.count(func.distinct(Transaction.dedupe_key)))
        if account_ids is not None:
            stmt = stmt.where(Transaction.account_id.in_(account_ids))
        total, distinct = db.session.execute(stmt).one()
        db.session.commit()
        return total, distinct


def _baseline(tenant_id: str, page, account_id: str) -> None:
    """Row by row through the ORM: look each line up, add it and its event, flush."""
    from payymo import db, events
    from payymo.db import utcnow
    from payymo.models import Transaction
    from payymo.representations.transactions import transaction as document
    from payymo.services import dedupe
    from payymo.services.banking.lines import rows_from_page
    from payymo.tenancy import tenant_scope

    session = db.session
    with tenant_scope(tenant_id):
        booked, _pending, _ = rows_from_page(page, "EUR")
        for row, key in zip(booked, dedupe.dedupe_keys(booked), strict=True):
            found = session.scalars(
                select(Transaction).where(
                    Transaction.account_id == account_id, Transaction.dedupe_key == key
                )
            ).first()
            if found is not None:
                continue
            now = utcnow()
            txn = Transaction(
                account_id=account_id,
                dedupe_key=key,
                provider_id=row["id"],
                match_status="unmatched",
                amount_allocated=0,
                created_at=now,
                updated_at=now,
                **{k: row[k] for k in ("status", "booking_date", "value_date", "amount", "currency",
                                       "counterparty_name", "counterparty_iban",
                                       "remittance_information", "end_to_end_id", "raw")},
            )  # fmt: skip
            session.add(txn)
            session.flush()
            events.emit(session, "transaction.created", {"object": document(txn)})
        session.commit()


def _goal(label: str, value: float, goal: float, *, higher: bool, unit: str) -> bool:
    met = value >= goal if higher else value <= goal
    sign = ">=" if higher else "<="
    print(
        f"  {label:<34} {value:>10.1f} {unit:<3} goal {sign} {goal:g}{unit}  {'met' if met else 'MISSED'}"
    )
    return met


def ingest_report(local) -> bool:
    """The 100k first load and re-sync, job against baseline."""
    from integrations.gocardless import create_provider
    from integrations.gocardless.fake.bank import BankAccount, generate_statement
    from payymo import db
    from payymo.models import BankAccount as Account
    from payymo.models import ProviderAccount
    from payymo.tenancy import tenant_scope
    from tasks.bank_sync import sync_connection

    big = BankAccount("DE89370400440532013000", "EUR", "Bench GmbH", "Main")
    big.booked = generate_statement(count=ROWS, end=TODAY, days=60, seed=1)
    local.fake.banks[SANDBOX] = [big]
    tenant_id = _tenant("Bench Ingest GmbH")
    conn_id = _connect(tenant_id)
    with tenant_scope(tenant_id):
        job_account = db.session.scalar(select(ProviderAccount.account_id))
        baseline_account = Account(name="Baseline", currency="EUR", kind="manual")
        db.session.add(baseline_account)
        db.session.commit()
        baseline_id = baseline_account.id
    client = create_provider(credentials=local.credentials, base_url=local.base_url)
    provider_account = local.fake.accounts and next(iter(local.fake.accounts))
    times = {}
    for label in ("first", "again"):
        if label == "again":
            with tenant_scope(tenant_id):  # re-read the whole history, every row known
                db.session.execute(update(ProviderAccount).values(synced_through=None))
                db.session.commit()
        start = time.perf_counter()
        sync_connection(tenant_id, None, conn_id)
        job = time.perf_counter() - start
        start = time.perf_counter()
        page = client.transactions(provider_account, date_from=None, date_to=None)
        _baseline(tenant_id, page, baseline_id)
        base = time.perf_counter() - start
        times[label] = (job, base)
    rows_job = _count(tenant_id, [job_account])
    rows_base = _count(tenant_id, [baseline_id])
    print(f"ingest: {ROWS} transactions served over HTTP by the fake GoCardless, PostgreSQL")
    ok = True
    for label, name in (("first", "first load"), ("again", "re-sync, all known")):
        job, base = times[label]
        print(f"  {name:<20} job {job:7.2f} s ({ROWS / job:8.0f} rows/s)   "
              f"baseline {base:7.2f} s ({ROWS / base:6.0f} rows/s)")  # fmt: skip
        ok &= _goal(f"{name} ratio", base / job, GOALS[label], higher=True, unit="x")
    print(f"  rows after both: job {rows_job[0]} ({rows_job[1]} distinct keys), "
          f"baseline {rows_base[0]} ({rows_base[1]} distinct keys)")  # fmt: skip
    dupes = rows_job[0] != ROWS or rows_base[0] != ROWS or rows_job[0] != rows_job[1]
    print(f"  no duplicates                      {'met' if not dupes else 'MISSED'}")
    return ok and not dupes


def _month_invoices(tenant_id: str) -> list[tuple[str, str, str]]:
    from payymo import db
    from payymo.db import utcnow
    from payymo.ids import new_id
    from payymo.models import Invoice
    from payymo.tenancy import tenant_scope

    now = utcnow()
    refs, rows = [], []
    for i in range(MONTH_INVOICES):
        number = f"INV-{i:07d}"
        amount = 1000 + (i * 7919) % 400000
        customer = f"Customer {i % 20000:05d} Ltd"
        rows.append({
            "id": new_id("inv"), "tenant_id": tenant_id, "external_id": f"E{i}",
            "number": number, "customer_name": customer, "amount_due": amount,
            "amount_paid": 0, "currency": "EUR", "issue_date": TODAY - dt.timedelta(days=40),
            "due_date": TODAY - dt.timedelta(days=10), "status": "open", "metadata_": {},
            "created_at": now, "updated_at": now,
        })  # fmt: skip
        refs.append((number, f"{amount // 100}.{amount % 100:02d}", customer))
    with tenant_scope(tenant_id):
        for start in range(0, len(rows), 5000):
            db.session.execute(Invoice.__table__.insert(), rows[start : start + 5000])
        db.session.commit()
    return refs


def month_report(local) -> bool:
    """1M lines over 200 accounts synced and reconciled against 200k open invoices."""
    from integrations.gocardless.fake.bank import BankAccount, generate_statement
    from payymo import db
    from payymo.models import Job, Transaction
    from payymo.tenancy import tenant_scope
    from tasks.bank_sync import sync_connection
    from tasks.reconcile import reconcile_tenant

    tenant_id = _tenant("Bench Month GmbH")
    refs = _month_invoices(tenant_id)
    paying = refs[: int(len(refs) * 0.75)]  # three in four invoices get paid this month
    per_account = MONTH_ROWS // MONTH_ACCOUNTS
    share = len(paying) / MONTH_ACCOUNTS
    connections = []
    for c in range(MONTH_ACCOUNTS // PER_CONNECTION):
        accounts = []
        for a in range(PER_CONNECTION):
            n = c * PER_CONNECTION + a
            account = BankAccount(f"DE{n:02d}FAKE{n:014d}", "EUR", "Bench GmbH", f"Account {n}")
            mine = paying[int(n * share) : int((n + 1) * share)]
            account.booked = generate_statement(
                count=per_account, end=TODAY, days=30, seed=100 + n,
                credit_share=len(mine) / per_account * 1.2, invoice_refs=list(mine),
                prefix=f"M{n}",
            )  # fmt: skip
            accounts.append(account)
        local.fake.banks[SANDBOX] = accounts
        connections.append(_connect(tenant_id))
    # Only the tables' owner may ANALYZE (the app role's ANALYZE skips them); the invoices
    # existed before the month, so autovacuum (off on these machines) would have seen them.
    owner = create_engine(DB_URL)
    with owner.begin() as conn:
        conn.execute(text("ANALYZE"))
    owner.dispose()
    start = time.perf_counter()
    for conn_id in connections:
        sync_connection(tenant_id, None, conn_id)
    synced = time.perf_counter() - start
    with tenant_scope(tenant_id):
        job = Job(type="reconcile", status="queued")
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    reconcile_tenant(tenant_id, job_id)
    total = time.perf_counter() - start
    with tenant_scope(tenant_id):
        lines = db.session.scalar(select(func.count()).select_from(Transaction))
        matched = db.session.scalar(
            select(func.count()).where(Transaction.match_status == "matched")
        )
        db.session.commit()
    print(f"a month at scale: {lines} transactions over {MONTH_ACCOUNTS} accounts, "
          f"{MONTH_INVOICES} open invoices ({len(paying)} paid by reference)")  # fmt: skip
    print(f"  sync {synced:.1f} s ({lines / synced:.0f} rows/s), reconcile {total - synced:.1f} s,"
          f" {matched} credits matched")  # fmt: skip
    return _goal("synced and reconciled", total, MONTH_GOAL_SECONDS, higher=False, unit="s")


def main() -> int:
    """Run both reports; exit 1 when a goal is missed."""
    local = _setup()
    ok = ingest_report(local)
    if os.environ.get("BENCH_SKIP_MONTH") != "1":
        ok &= month_report(local)
    print(f"exit {0 if ok else 1}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
