"""Benchmark: every read endpoint as fast for a tenant of 10M transactions as of 10k.

Three tenants in one PostgreSQL database (10k, 1M and 10M transactions by default, with
a fifth as many invoices and half as many events), generated in bulk by the database
itself. Each read endpoint is timed per tenant through the real app (auth, tenancy,
row-level security as a non-owner role, serialisation) in this process; the figures are
the p50 and p95 per size and the largest tenant's p50 over the smallest's, measured in
the same run. Then the write paths: an import of 1,000 lines, a match by hand, and a
reconcile run of 1,000 new credits.

Goals (issue 15): p95 <= 50 ms at the largest size and growth <= 2x for every read;
writes <= 1.5x slower at the largest size than at the smallest.

Usage: .venv/bin/python benchmarks/scale.py [--sizes 10000,1000000,10000000]
       [--samples 30] [--reuse] [--reads-only] [--no-run-at-largest]
       [--events-total 50000000]
Needs PostgreSQL (BENCH_ADMIN_URL, BENCH_SCALE_URL; local defaults). Generating 10M
lines takes a while (minutes, several GB of disk); ``--reuse`` measures a database a
previous run left.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import string
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DB_NAME = "payymo_scale"
DB_URL = os.environ.get(
    "BENCH_SCALE_URL", f"postgresql+psycopg://postgres@127.0.0.1:5432/{DB_NAME}"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")
P95_GOAL_MS = 50.0
READ_GROWTH_GOAL = 2.0
WRITE_GROWTH_GOAL = 1.5
CHUNK = 1_000_000
CUSTOMERS = 5_000
DAYS = 1_096  # three years of booking dates, 2024 to 2026

READS = [
    ("list", "/transactions?limit=50"),
    ("list by match status", "/transactions?limit=50&match_status=unmatched"),
    (
        "list by date",
        "/transactions?limit=50&booking_date_from=2025-06-01&booking_date_to=2025-06-30",
    ),
    ("list by amount", "/transactions?limit=50&amount_min=100000&amount_max=100500"),
    ("search a reference", "/transactions?limit=50&q=INV-0001234"),
    ("search a payer", "/transactions?limit=50&q=Customer%204242%20GmbH"),
    ("stats", "/transactions/stats"),
    (
        "stats, whole months",
        "/transactions/stats?booking_date_from=2025-01-01&booking_date_to=2025-12-31",
    ),
    (
        "stats, any days",
        "/transactions/stats?booking_date_from=2025-03-15&booking_date_to=2025-04-20",
    ),
    ("stats by status", "/transactions/stats?match_status=unmatched&direction=in"),
    ("reconciliation summary", "/reconciliation"),
    ("invoices", "/invoices?limit=50"),
    ("invoices by customer", "/invoices?limit=50&customer=Customer%204242"),
    ("invoices by status", "/invoices?limit=50&status=open"),
    ("events", "/events?limit=50"),
    ("events by type", "/events?limit=50&type=invoice.paid"),
]


def _engine(url: str, **kwargs):
    from sqlalchemy import create_engine

    return create_engine(url, **kwargs)


def recreate_database() -> None:
    """Drop and create the scale database, then migrate it."""
    from sqlalchemy import text

    from payymo import migrate

    admin = _engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {DB_NAME}"))
    admin.dispose()
    migrate.upgrade(DB_URL)


def _transactions_sql(ninv: int) -> str:
    # Ids are valid and time-ordered: '01', the tenant's digit, then the row number in hex.
    day = f"(g * {DAYS} / CAST(:n AS bigint))::int"
    status = (
        "CASE WHEN g % 20 < 17 THEN 'matched' WHEN g % 20 = 17 THEN 'unmatched' "
        "WHEN g % 20 = 18 THEN 'suggested' ELSE 'ignored' END"
    )
    amount = (
        "CASE WHEN g % 5 = 0 THEN -(100 + (g * 7919) % 90000) ELSE 100 + (g * 104729) % 250000 END"
    )
    return f"""
        INSERT INTO transactions (id, tenant_id, account_id, dedupe_key, provider_id, status,
            booking_date, value_date, amount, amount_allocated, currency, counterparty_name,
            counterparty_iban, remittance_information, end_to_end_id, match_status,
            created_at, updated_at)
        SELECT 'txn_01' || :digit || lpad(upper(to_hex(g)), 23, '0'), :tenant, :account,
            'h:' || g, 'line-' || g, 'booked',
            DATE '2024-01-01' + {day}, DATE '2024-01-01' + {day},
            {amount},
            CASE WHEN g % 5 <> 0 AND g % 20 < 17 THEN {amount} ELSE 0 END,
            'EUR', 'Customer ' || (g % {CUSTOMERS}) || ' GmbH',
            'DE' || lpad((g % {CUSTOMERS})::text, 20, '0'),
            'Invoice INV-' || lpad((g % {ninv})::text, 7, '0') || ' thank you',
            'E2E' || g,
            CASE WHEN g % 5 = 0 THEN 'unmatched' ELSE {status} END,
            TIMESTAMPTZ '2024-01-02 08:00Z' + {day} * INTERVAL '1 day',
            TIMESTAMPTZ '2024-01-02 08:00Z' + {day} * INTERVAL '1 day'
        FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g
    """


_INVOICES_SQL = f"""
    INSERT INTO invoices (id, tenant_id, external_id, number, customer_name, customer_email,
        amount_due, amount_paid, amount_charged, currency, issue_date, due_date, status,
        metadata, created_at, updated_at)
    SELECT 'inv_01' || :digit || lpad(upper(to_hex(g)), 23, '0'), :tenant, 'ERP-' || g,
        'INV-' || lpad(g::text, 7, '0'),
        'Customer ' || (g % {CUSTOMERS}) || ' GmbH', 'ap' || (g % {CUSTOMERS}) || '@example.com',
        100 + (g * 104729) % 250000,
        CASE WHEN g % 10 = 0 THEN 0 ELSE 100 + (g * 104729) % 250000 END, 0, 'EUR',
        DATE '2024-01-01' + (g * {DAYS} / CAST(:n AS bigint))::int,
        DATE '2024-01-31' + (g * {DAYS} / CAST(:n AS bigint))::int,
        CASE WHEN g % 10 = 0 THEN 'open' ELSE 'paid' END, '{{}}',
        TIMESTAMPTZ '2024-01-01 08:00Z' + (g * {DAYS} / CAST(:n AS bigint))::int * INTERVAL '1 day',
        TIMESTAMPTZ '2024-01-01 08:00Z' + (g * {DAYS} / CAST(:n AS bigint))::int * INTERVAL '1 day'
    FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g
"""

_EVENTS_SQL = f"""
    INSERT INTO events (id, tenant_id, type, data, created_at, dispatched_at)
    SELECT 'evt_01' || :digit || lpad(upper(to_hex(g)), 23, '0'), :tenant,
        CASE WHEN g % 4 = 0 THEN 'invoice.paid' ELSE 'transaction.matched' END,
        jsonb_build_object('object', jsonb_build_object('id', 'x' || g)),
        TIMESTAMPTZ '2024-01-02 09:00Z' + (g * {DAYS} / CAST(:n AS bigint))::int * INTERVAL '1 day',
        TIMESTAMPTZ '2024-01-02 09:00Z' + (g * {DAYS} / CAST(:n AS bigint))::int * INTERVAL '1 day'
    FROM generate_series(CAST(:low AS bigint), CAST(:high AS bigint)) AS g
"""


def _chunks(total: int):
    for low in range(1, total + 1, CHUNK):
        yield low, min(low + CHUNK - 1, total)


def generate(sizes: list[int]) -> list[dict]:
    """One tenant per size, its key, an account, and its rows made by the database."""
    from sqlalchemy import text

    from payymo import db
    from payymo.db import utcnow
    from payymo.models import BankAccount
    from payymo.services import api_keys, search_indexes, tenants
    from payymo.tenancy import tenant_scope

    made = []
    session = db.session
    for size in sizes:
        tenant = tenants.create_tenant(session=session, name=f"Scale {size}")
        with tenant_scope(tenant.id):
            _key, secret = api_keys.create_key(session=session, scopes=["admin"])
            account = BankAccount(name="Main", currency="EUR", kind="manual")
            session.add(account)
            session.commit()
            made.append({"size": size, "tenant": tenant.id, "key": secret, "account": account.id})
    session.remove()
    owner = _engine(DB_URL)
    with owner.begin() as conn:  # rebuilt after the load: much faster than row by row
        for statement in search_indexes.drop_statements():
            conn.execute(text(statement.replace(" CONCURRENTLY", "")))
    for digit, tenant in enumerate(made, start=1):
        size, ninv, nev = tenant["size"], max(tenant["size"] // 5, 1), tenant["size"] // 2
        args = {"digit": str(digit), "tenant": tenant["tenant"]}
        started = time.perf_counter()
        for sql, total in (
            (_transactions_sql(ninv), size),
            (_INVOICES_SQL, ninv),
            (_EVENTS_SQL, nev),
        ):
            for low, high in _chunks(total):
                with owner.begin() as conn:
                    conn.execute(
                        text(sql),
                        {
                            **args,
                            "account": tenant["account"],
                            "n": total,
                            "low": low,
                            "high": high,
                        },
                    )
        print(
            f"  generated {size:>10,} transactions, {ninv:,} invoices, {nev:,} events "
            f"in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    started = time.perf_counter()
    with owner.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        for statement in search_indexes.create_statements():
            conn.execute(text(statement.replace(" CONCURRENTLY", "")))
        conn.execute(text("VACUUM ANALYZE"))
        search_indexes.sample_common_trigrams(conn, utcnow())
    owner.dispose()
    print(f"  trigram indexes and VACUUM ANALYZE in {time.perf_counter() - started:.0f} s")
    return made


def top_up_events(tenants: list[dict], total: int) -> int:
    """Add events to the largest tenant until the table holds ``total``; how many were added.

    Issue 15 asks for ``GET /events`` at 50M events in the table: the proportionate
    5.5M, then the rest for the 10M tenant (its digit in the ids is its place by size).
    """
    from sqlalchemy import text

    owner = _engine(DB_URL)
    tenant, digit = tenants[-1], str(len(tenants))
    with owner.connect() as conn:
        held = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
        own = conn.execute(
            text("SELECT count(*) FROM events WHERE tenant_id = :t"), {"t": tenant["tenant"]}
        ).scalar_one()
    missing = max(total - held, 0)
    args = {"digit": digit, "tenant": tenant["tenant"], "n": own + missing}
    if not missing:
        return 0
    # The plain indexes are rebuilt after the load (the unique ones stay): inserting
    # 45M events through all five took 75 s a million.
    with owner.begin() as conn:
        plain = conn.execute(text(_PLAIN_EVENT_INDEXES)).all()
        for name, _definition in plain:
            conn.execute(text(f'DROP INDEX "{name}"'))
    for low, high in _chunks(missing):
        with owner.begin() as conn:
            conn.execute(text(_EVENTS_SQL), {**args, "low": own + low, "high": own + high})
    with owner.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        for _name, definition in plain:
            conn.execute(text(definition))
        conn.execute(text("VACUUM ANALYZE events"))
    owner.dispose()
    return missing


_PLAIN_EVENT_INDEXES = """
    SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'events'::regclass AND NOT i.indisunique
"""


def existing_tenants() -> list[dict]:
    """The tenants a previous run made, with a fresh key each (``--reuse``)."""
    from sqlalchemy import select

    from payymo import db
    from payymo.models import BankAccount, Tenant
    from payymo.services import api_keys
    from payymo.tenancy import system_scope, tenant_scope

    session = db.session
    with system_scope():
        tenants = session.scalars(select(Tenant).where(Tenant.name.like("Scale %"))).all()
    made = []
    for tenant in sorted(tenants, key=lambda t: int(t.name.split()[1])):
        with tenant_scope(tenant.id):
            _key, secret = api_keys.create_key(session=session, scopes=["admin"])
            account = session.scalars(select(BankAccount)).first()
            session.commit()
        made.append(
            {
                "size": int(tenant.name.split()[1]),
                "tenant": tenant.id,
                "key": secret,
                "account": account.id,
            }
        )
    session.remove()
    return made


def configure(url: str) -> None:
    """Run the app on ``url`` (the non-owner role), unthrottled; jobs go to Redis (as in
    production: an import requests a run, it does not run it)."""
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
            instance_path=Path(tempfile.mkdtemp(prefix="payymo-scale-")),
            plan_rate_limits={"standard": 10**9},
            log_level="WARNING",
        )
    )


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def time_reads(client, tenants: list[dict], samples: int) -> dict[int, dict]:
    """p50 and p95 (ms) of every read for each tenant, by size.

    The sizes take turns, sample by sample: a slow stretch of this shared machine (or
    the page cache dropping part of the database) then falls on every size alike,
    not on whichever size was being timed, and the ratios compare like with like.
    """
    took: dict[int, dict[str, list[float]]] = {t["size"]: {} for t in tenants}
    for name, path in READS:
        for tenant in tenants:
            headers = {"X-API-Key": tenant["key"]}
            for _ in range(3):  # warm the caches and the plan
                response = client.get("/api/v1" + path, headers=headers)
                assert response.status_code == 200, path
            took[tenant["size"]][name] = []
        for _ in range(samples):
            for tenant in tenants:
                headers = {"X-API-Key": tenant["key"]}
                started = time.perf_counter()
                response = client.get("/api/v1" + path, headers=headers)
                took[tenant["size"]][name].append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, (path, response.get_json())
    return {
        size: {name: _percentiles(values) for name, values in by_name.items()}
        for size, by_name in took.items()
    }


def _lines(prefix: str, count: int, *, amount=None, reference=None) -> list[dict]:
    return [
        {
            "id": f"{prefix}-{n}",
            "booking_date": "2026-11-20",
            "amount": amount or 1_000 + n,
            "currency": "EUR",
            "counterparty_name": f"Writer {n} Ltd",
            "remittance_information": reference(n) if reference else f"bench {prefix} {n}",
        }
        for n in range(count)
    ]


def _horse(pipe, fn, args) -> None:
    pipe.send(fn(*args))
    pipe.close()


def in_work_horse(fn, *args):
    """``fn(*args)`` in a forked child, as an RQ worker runs each job; its result.

    A full run of a million credits leaves this process gigabytes larger, which the next
    run would otherwise inherit (and the database's page cache lose); a worker's work
    horse exits after its job. The parent's pooled connections are closed first: a
    child must not share them.
    """
    import multiprocessing

    from payymo import db

    db.session.remove()
    db.engine().dispose()
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_horse, args=(send, fn, args))
    child.start()
    send.close()
    result = receive.recv()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"the work horse exited with {child.exitcode}")
    return result


def time_writes(client, tenant: dict, *, run: bool, rounds: int) -> dict[str, float]:
    """Median ms of an import of 1,000 lines, a match by hand, a run of 1,000 new credits."""
    from tasks.reconcile import reconcile_tenant

    headers = {"X-API-Key": tenant["key"]}
    tag = secrets.token_hex(3)
    imports, matches = [], []
    for r in range(rounds):
        body = {"account_id": tenant["account"], "transactions": _lines(f"w{tag}{r}", 1_000)}
        started = time.perf_counter()
        response = client.post("/api/v1/transactions/import", json=body, headers=headers)
        imports.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_json()
        credit = response.get_json()["results"][0]["id"]
        invoice = client.post(
            "/api/v1/invoices",
            json={"external_id": f"M{tag}{r}", "amount_due": 5_000, "currency": "EUR"},
            headers=headers,
        ).get_json()
        match = {
            "transaction_id": credit,
            "allocations": [{"invoice_id": invoice["id"], "amount": 500}],
        }
        started = time.perf_counter()
        response = client.post("/api/v1/reconciliation/matches", json=match, headers=headers)
        matches.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201, response.get_json()
    out = {
        "import 1,000 lines": statistics.median(imports),
        "match by hand": statistics.median(matches),
    }
    if run:
        # Letters only before the digits: a hex tag ("RUN3a4b5c00110") reads as several
        # references, and "00110" alone names INV-0000110 of the generated invoices.
        series = "".join(secrets.choice(string.ascii_uppercase) for _ in range(5))
        numbers = [f"RUN{series}{n:05d}" for n in range(1_000)]
        batch = [
            {
                "external_id": f"R{tag}{n}",
                "number": numbers[n],
                "amount_due": 7_000 + n,
                "currency": "EUR",
            }
            for n in range(1_000)
        ]
        for low in range(0, 1_000, 500):
            client.post(
                "/api/v1/invoices/batch", json={"invoices": batch[low : low + 500]}, headers=headers
            )
        # The tenant's first run is a full one (it fills the look-up tables); what is timed
        # is the run after an import, as bank sync makes it.
        job = client.post("/api/v1/reconciliation/run", headers=headers).get_json()
        started = time.perf_counter()
        settled = in_work_horse(reconcile_tenant, tenant["tenant"], job["id"])
        print(
            f"  {tenant['size']:,}: settling run ({settled.get('mode')}) before the timed one: "
            f"{time.perf_counter() - started:.1f} s",
            flush=True,
        )
        # A server's autovacuum gets to what the settling run wrote (a first run inserts
        # every look-up row) within a minute or so; this machine runs without it.
        started = time.perf_counter()
        vacuumed = vacuum_as_autovacuum()
        print(
            f"  {tenant['size']:,}: vacuumed after it, as autovacuum would have: "
            f"{', '.join(vacuumed) or 'none'} ({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        lines = _lines(f"r{tag}", 1_000, reference=lambda n: f"Payment {numbers[n]}")
        for n, line in enumerate(lines):
            line["amount"] = 7_000 + n
        response = client.post(
            "/api/v1/transactions/import",
            json={"account_id": tenant["account"], "transactions": lines},
            headers=headers,
        )
        job = client.post("/api/v1/reconciliation/run", headers=headers).get_json()
        started = time.perf_counter()
        result = in_work_horse(reconcile_tenant, tenant["tenant"], job["id"])
        out["reconcile run, 1,000 new credits"] = (time.perf_counter() - started) * 1000
        print(
            f"  {tenant['size']:,}: timed run ({result.get('mode')}): "
            f"{result.get('transactions_considered'):,} credits, "
            f"{result.get('invoices_considered'):,} invoices considered, "
            f"{result.get('auto_matched'):,} matched",
            flush=True,
        )
    return out


def fold_deltas() -> tuple[int, int, list[str]]:
    """Fold the pending rollup deltas and merge the search indexes' pending lists, as the
    job sweep does every minute; then vacuum what autovacuum would have. How many deltas,
    how many pages of lists, and which tables.

    Writes append deltas and reads add them to the rollups; the generated rows and every
    earlier run's writes left hundreds of thousands, which no sweep folds here (543,235
    after a few ``--reuse`` runs: the summary read them all, 50 ms at every size).
    """
    from payymo import db
    from payymo.tenancy import system_scope
    from tasks.maintenance import fold_rollups, merge_search_lists

    with system_scope():
        folded = fold_rollups(db.session)
        merged = merge_search_lists(db.session)
    db.session.remove()
    # Then what autovacuum does in production after 10,000 dead rows (migration 0022),
    # where this machine runs without it: 131,525 dead deltas left by a run's folds made
    # every read that adds rollups 5 ms slower at every size.
    owner = _engine(DB_URL, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE) rollup_deltas, rollups")
    owner.dispose()
    due = vacuum_as_autovacuum()
    return folded, merged, due


# The tables past an autovacuum threshold (the table's own settings, migrations 0022 and
# 0024, else the server's): dead rows, and since PostgreSQL 13 rows inserted. A reconcile
# run of a 10M tenant leaves 700,000 dead lines, and a tenant's first (full) run inserts
# its look-up rows; until a vacuum those pages are not all-visible, so index-only reads
# fetch every row from the table (400 of a page by amount's 501 descents; 2.4 fetches a
# row in the run after a full one, 2.8 s of its payer groups' keys).
_DUE = """
    WITH t AS (
        SELECT s.relname, s.n_dead_tup, s.n_ins_since_vacuum, greatest(c.reltuples, 0) AS n,
            (SELECT coalesce(jsonb_object_agg(split_part(o, '=', 1), split_part(o, '=', 2)),
                             '{}') FROM unnest(c.reloptions) AS o) AS opts
        FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
    )
    SELECT relname FROM t
    WHERE n_dead_tup > coalesce(opts->>'autovacuum_vacuum_threshold',
                                current_setting('autovacuum_vacuum_threshold'))::float
            + n * coalesce(opts->>'autovacuum_vacuum_scale_factor',
                           current_setting('autovacuum_vacuum_scale_factor'))::float
       OR n_ins_since_vacuum > coalesce(opts->>'autovacuum_vacuum_insert_threshold',
                                        current_setting('autovacuum_vacuum_insert_threshold'))::float
            + n * coalesce(opts->>'autovacuum_vacuum_insert_scale_factor',
                           current_setting('autovacuum_vacuum_insert_scale_factor'))::float
"""


def due_for_autovacuum(conn) -> list[str]:
    """The tables autovacuum would vacuum now (this machine runs PostgreSQL without it)."""
    return [name for (name,) in conn.exec_driver_sql(_DUE)]


def vacuum_as_autovacuum() -> list[str]:
    """VACUUM (ANALYZE) every table autovacuum would have by now; which ones."""
    owner = _engine(DB_URL, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        due = due_for_autovacuum(conn)
        for table in due:
            conn.exec_driver_sql(f'VACUUM (ANALYZE) "{table}"')
    owner.dispose()
    return due


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,1000000,10000000")
    parser.add_argument("--samples", type=int, default=30)
    parser.add_argument("--write-rounds", type=int, default=5)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument(
        "--no-run-at-largest",
        action="store_true",
        help="skip the reconcile run on the largest tenant (its first, full, run takes minutes)",
    )
    parser.add_argument("--reads-only", action="store_true", help="time the reads, no writes")
    parser.add_argument(
        "--events-total",
        type=int,
        default=0,
        help="first add events to the largest tenant until the table holds this many",
    )
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import roles

    configure(DB_URL)
    if args.reads_only:
        print("reads only: the write goals are not measured")
    if args.reuse:
        from payymo import migrate

        migrate.upgrade(DB_URL)  # a database an older checkout left
        tenants = existing_tenants()
    else:
        print(f"generating tenants of {', '.join(f'{s:,}' for s in sizes)} transactions ...")
        recreate_database()
        configure(DB_URL)
        tenants = generate(sizes)
    if args.events_total:
        started = time.perf_counter()
        added = top_up_events(tenants, args.events_total)
        print(
            f"added {added:,} events to the {tenants[-1]['size']:,} tenant, "
            f"{args.events_total:,} in the table, in {time.perf_counter() - started:.0f} s",
            flush=True,
        )
    configure(roles.app_url(DB_URL))
    from payymo import create_app, runtime

    runtime.redis_connection().flushdb()
    client = create_app(runtime.settings()).test_client()
    folded, merged, vacuumed = fold_deltas()
    print(
        f"folded {folded:,} rollup deltas and merged {merged:,} pages of search index "
        "pending lists first, as the job sweep does",
        flush=True,
    )
    print(f"vacuumed, as autovacuum would have: {', '.join(vacuumed) or 'none'}", flush=True)
    reads = time_reads(client, tenants, args.samples)
    writes = {
        t["size"]: time_writes(
            client,
            t,
            run=t is not tenants[-1] or not args.no_run_at_largest,
            rounds=args.write_rounds,
        )
        for t in tenants
        if not args.reads_only
    }
    small, large = tenants[0]["size"], tenants[-1]["size"]
    missed = 0
    header = "".join(f"{f'{s:,}':>22}" for s in (t["size"] for t in tenants))
    print(f"\nreads, p50 / p95 ms{header}   {large // small:,}x/1x")
    for name, _path in READS:
        cells = "".join(
            f"{reads[t['size']][name][0]:>10.1f} /{reads[t['size']][name][1]:>8.1f}   "
            for t in tenants
        )
        growth = reads[large][name][0] / reads[small][name][0]
        ok = reads[large][name][1] <= P95_GOAL_MS and growth <= READ_GROWTH_GOAL
        missed += not ok
        print(
            f"  {name:<26}{cells} {growth:>5.2f}x  p95 goal <= {P95_GOAL_MS:.0f} ms, "
            f"growth goal <= {READ_GROWTH_GOAL:.0f}x: {'met' if ok else 'MISSED'}"
        )
    print(f"\nwrites, median ms{header}")
    for name in writes.get(small, ()):
        cells = "".join(
            f"{writes[t['size']][name]:>22.1f}" if name in writes[t["size"]] else f"{'not run':>22}"
            for t in tenants
        )
        if name not in writes[large]:
            missed += 1
            print(f"  {name:<26}{cells}   not measured at {large:,} (--no-run-at-largest): MISSED")
            continue
        growth = writes[large][name] / writes[small][name]
        ok = growth <= WRITE_GROWTH_GOAL
        missed += not ok
        print(
            f"  {name:<26}{cells}   {growth:.2f}x  goal <= {WRITE_GROWTH_GOAL}x: "
            f"{'met' if ok else 'MISSED'}"
        )
    if args.reads_only:
        missed += 1
        print("  not measured (--reads-only): MISSED")
    print(f"\n{missed} goal(s) missed" if missed else "\nevery goal met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
