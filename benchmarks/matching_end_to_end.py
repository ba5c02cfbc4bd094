"""End to end: the reconcile job on PostgreSQL, 100k credits against 50k open invoices.

Called by ``benchmarks/matching.py`` (``end_to_end_report``). The generator's data is
written into a dedicated database (recreated each run), a reconcile ``Job`` row is
queued, and the real job function ``tasks.reconcile.reconcile_tenant`` runs in this
process, timed from call to return (load, engine, every chunk written and committed).
Accuracy is then measured from what the database holds afterwards, with the same
definitions as the engine report. The engine alone is timed on the same data in the
same run, so the cost of the database side shows as a ratio. The job runs with up to
PAYYMO_RECONCILE_PROCESSES engine processes (default: the cores, at most 4), as a
worker would; the CPU seconds of this process, of the engine processes and of
PostgreSQL during the job are printed too, since wall times on a shared machine vary.

Environment: BENCH_ADMIN_URL (a database to connect to for CREATE DATABASE),
BENCH_MATCHING_DB (its name, default payymo_bench_matching: one per concurrent run),
BENCH_MATCHING_DATABASE_URL; BENCH_E2E_TRANSACTIONS / BENCH_E2E_INVOICES to change the
size (default 100000 / 50000).
"""

from __future__ import annotations

import os
import resource
import secrets
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, insert, select, text

ADMIN_URL = os.environ.get(
    "BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = os.environ.get("BENCH_MATCHING_DB", "payymo_bench_matching")
DB_URL = os.environ.get(
    "BENCH_MATCHING_DATABASE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
)
GOAL_SECONDS = 30.0
_ROWS_PER_INSERT = 5_000


def _recreate_database() -> None:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()


def _configure() -> None:
    from benchmarks.roles import app_url
    from payymo import migrate, runtime
    from payymo.config import Settings, default_reconcile_processes

    migrate.upgrade(DB_URL)
    runtime.configure(
        Settings(
            env="development",
            # The job runs as a role under row-level security, as a worker would.
            database_url=app_url(DB_URL),
            redis_url=None,
            secret_key=secrets.token_urlsafe(32),
            encryption_key=Fernet.generate_key().decode(),
            instance_path=Path(tempfile.mkdtemp(prefix="payymo-bench-")),
            reconcile_processes=int(
                os.environ.get("PAYYMO_RECONCILE_PROCESSES") or default_reconcile_processes()
            ),
        )
    )


def _insert(session, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        session.execute(insert(model), rows[start : start + _ROWS_PER_INSERT])


def _tenant_settings(settings) -> dict:
    return {
        "auto_match_enabled": settings.auto_match_enabled,
        "auto_match_threshold": settings.threshold,
        "date_window_days": settings.date_window_days,
        "overpayment_tolerance": settings.overpayment_tolerance,
        "charge_tolerance": settings.charge_tolerance,
        "reference_pattern": settings.reference_pattern,
    }


def load_dataset(data) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """Write the dataset for a new tenant; returns (tenant, queued job, txn ids, invoice ids).

    The id maps go from the database's ids back to the generator's.
    """
    from payymo import db
    from payymo.db import utcnow
    from payymo.ids import new_id
    from payymo.models import BankAccount, Invoice, Job, PayerMemory, Transaction
    from payymo.services import tenants
    from payymo.tenancy import tenant_scope

    session = db.session
    tenant = tenants.create_tenant(session=session, name="Bench Matching Ltd")
    tenant.settings = _tenant_settings(data.settings)
    session.commit()
    now = utcnow()
    invoice_ids, txn_ids = {}, {}
    with tenant_scope(tenant.id):
        accounts = {}
        for currency in sorted({t.currency for t in data.transactions}):
            accounts[currency] = BankAccount(name=currency, currency=currency, kind="manual")
            session.add(accounts[currency])
        session.flush()
        rows = []
        for inv in sorted(data.invoices, key=lambda i: i.id):  # db ids keep the same order
            db_id = new_id("inv")
            invoice_ids[db_id] = inv.id
            rows.append(
                {
                    "id": db_id,
                    "tenant_id": tenant.id,
                    "external_id": inv.id,
                    "number": inv.number,
                    "customer_name": inv.customer_name,
                    "customer_email": inv.customer_email,
                    "customer_reference": inv.customer_reference,
                    "amount_due": inv.open_amount,
                    "amount_paid": 0,
                    "currency": inv.currency,
                    "issue_date": inv.issue_date,
                    "due_date": inv.due_date,
                    "status": "open",
                    "metadata_": {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
        _insert(session, Invoice, rows)
        rows = []
        for txn in sorted(data.transactions, key=lambda t: t.id):
            db_id = new_id("txn")
            txn_ids[db_id] = txn.id
            rows.append(
                {
                    "id": db_id,
                    "tenant_id": tenant.id,
                    "account_id": accounts[txn.currency].id,
                    "dedupe_key": f"bench:{txn.id}",
                    "status": "booked" if txn.booked else "pending",
                    "booking_date": txn.booking_date,
                    "value_date": txn.booking_date,
                    "amount": txn.amount,
                    "amount_allocated": 0,
                    "currency": txn.currency,
                    "counterparty_name": txn.counterparty_name,
                    "counterparty_iban": txn.counterparty_iban,
                    "remittance_information": txn.remittance,
                    "match_status": "unmatched",
                    "created_at": now,
                    "updated_at": now,
                }
            )
        _insert(session, Transaction, rows)
        memory = [
            {"id": new_id("pm"), "tenant_id": tenant.id, "kind": kind, "value": value,
             "customer_key": key, "confirmations": 1, "last_confirmed_at": now}
            for kind, table in (("iban", data.memory.by_iban), ("name", data.memory.by_name))
            for value, keys in table.items()
            for key in sorted(keys)
        ]  # fmt: skip
        _insert(session, PayerMemory, memory)
        job = Job(type="reconcile", status="queued")
        session.add(job)
        session.commit()
    owner = create_engine(DB_URL)  # only the tables' owner may ANALYZE them
    with owner.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    owner.dispose()
    return tenant.id, job.id, txn_ids, invoice_ids


def decisions_from_database(tenant_id: str, txn_ids: dict, invoice_ids: dict) -> list:
    """What the job left in the database, as the engine's ``Decision`` objects."""
    from payymo import db
    from payymo.matching.types import Candidate, Decision
    from payymo.models import Allocation, Match, Suggestion
    from payymo.tenancy import tenant_scope

    session = db.session
    autos: dict[str, list] = defaultdict(list)
    confidence: dict[str, float] = {}
    top: dict[str, tuple] = {}
    with tenant_scope(tenant_id):
        rows = session.execute(
            select(Match.transaction_id, Match.confidence, Allocation.invoice_id, Allocation.amount)
            .join(Allocation, Allocation.match_id == Match.id)
            .where(Match.method == "auto", Match.status == "active")
        )
        for txn_id, conf, invoice_id, amount in rows:
            autos[txn_id].append((invoice_ids[invoice_id], amount))
            confidence[txn_id] = conf or 0.0
        rows = session.execute(
            select(Suggestion.transaction_id, Suggestion.allocations, Suggestion.confidence).where(
                Suggestion.status == "open", Suggestion.rank == 1
            )
        )
        for txn_id, lines, conf in rows:
            top[txn_id] = (
                tuple((invoice_ids[line["invoice_id"]], line["amount"]) for line in lines),
                conf,
            )
    decisions = []
    for db_id, gen_id in txn_ids.items():
        auto = None
        if db_id in autos:
            auto = Candidate(gen_id, tuple(autos[db_id]), confidence[db_id], ())
        suggestions = ()
        if db_id in top:
            suggestions = (Candidate(gen_id, top[db_id][0], top[db_id][1], ()),)
        decisions.append(Decision(gen_id, auto, suggestions))
    return decisions


def books_balance(tenant_id: str) -> bool:
    """Every invoice's amount_paid and amount_charged are its live allocations' sums, within amount_due."""
    from payymo import db
    from payymo.models import Allocation, Invoice
    from payymo.tenancy import tenant_scope

    with tenant_scope(tenant_id):
        sums = (
            select(
                Allocation.invoice_id,
                func.sum(Allocation.amount).label("paid"),
                func.sum(Allocation.charge).label("charged"),
            )
            .where(Allocation.status == "active")
            .group_by(Allocation.invoice_id)
            .subquery()
        )
        bad = db.session.scalar(
            select(func.count())
            .select_from(Invoice)
            .outerjoin(sums, sums.c.invoice_id == Invoice.id)
            .where(
                (Invoice.amount_paid != func.coalesce(sums.c.paid, 0))
                | (Invoice.amount_charged != func.coalesce(sums.c.charged, 0))
                | (Invoice.amount_paid + Invoice.amount_charged > Invoice.amount_due)
            )
        )
    return bad == 0


def _postgres_cpu() -> float | None:
    """CPU seconds used so far by the local PostgreSQL processes (Linux /proc), or None."""
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, _, rest = stat.read_text().partition(")")
        except OSError:
            continue  # the process ended
        if "(postgres" in name:
            fields = rest.split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


def _cpu() -> tuple[float, float, float | None]:
    """(this process, its reaped children, PostgreSQL) CPU seconds so far."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (
        own.ru_utime + own.ru_stime,
        children.ru_utime + children.ru_stime,
        _postgres_cpu(),
    )


def report(args, evaluate, print_accuracy) -> bool:
    """Run the job end to end and print time and accuracy; True when every goal holds."""
    from benchmarks.matching_data import generate
    from payymo import db, runtime
    from payymo.matching.engine import reconcile
    from tasks.reconcile import reconcile_tenant

    n_txn = int(os.environ.get("BENCH_E2E_TRANSACTIONS", 100_000))
    n_inv = int(os.environ.get("BENCH_E2E_INVOICES", 50_000))
    seed = args.seeds[0]
    data = generate(seed, n_txn, n_inv)
    started = time.perf_counter()
    reconcile(data.transactions, data.invoices, settings=data.settings, memory=data.memory)
    engine_alone = time.perf_counter() - started
    _recreate_database()
    _configure()
    tenant_id, job_id, txn_ids, invoice_ids = load_dataset(data)
    cpu_before = _cpu()
    started = time.perf_counter()
    counts = reconcile_tenant(tenant_id, job_id)
    wall = time.perf_counter() - started
    cpu_after = _cpu()
    m = evaluate(data, decisions_from_database(tenant_id, txn_ids, invoice_ids))
    balanced = books_balance(tenant_id)
    db.session.remove()
    print(f"end to end, seed {seed}: {n_txn} credits x {n_inv} open invoices, PostgreSQL")
    print(
        f"  reconcile job wall time   {wall:7.2f} s   ({n_txn / wall:,.0f} credits/s; "
        f"engine alone {engine_alone:.2f} s, {wall / engine_alone:.1f}x)   goal <= 30 s  "
        f"{'met' if wall <= GOAL_SECONDS else 'MISSED'}"
    )
    own, engines, pg = (
        None if a is None or b is None else b - a
        for a, b in zip(cpu_before, cpu_after, strict=True)
    )
    print(
        f"  cpu during the job        job process {own:.1f} s, engine processes {engines:.1f} s, "
        + ("PostgreSQL n/a" if pg is None else f"PostgreSQL {pg:.1f} s")
        + f"  ({os.cpu_count()} cores, up to {runtime.settings().reconcile_processes} engine processes)"
    )
    print("  job result                " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print_accuracy(m)
    print(f"  books balance             {'yes' if balanced else 'NO'}")
    return (
        wall <= GOAL_SECONDS
        and balanced
        and m["precision"] >= 99.9
        and m["auto_rate"] >= 90.0
        and m["top1"] >= 95.0
        and m["false_unrelated"] == 0
    )
