"""Reconcile jobs in real ``payymo worker`` processes: racing, delivered twice, killed.

Like test_worker_e2e, this commits for real (the savepoint fixtures are invisible to a
worker process) and deletes its tenants afterwards. Every test ends by checking the
books: each invoice's amount_paid is the sum of its live allocations and never more
than it owes; each transaction's amount_allocated likewise; every match has its lines.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import defaultdict

import pytest
import redis
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo import jobs
from payymo.errors import PayymoError
from payymo.models import Invoice, Job, Match, Suggestion, Transaction
from payymo.services import allocations
from payymo.services import jobs as job_service
from payymo.tenancy import tenant_scope
from tasks.reconcile import reconcile_tenant
from tests.books import assert_books_balance
from tests.reconcile_world import account, add, credit_row, invoice_row, new_tenant
from tests.tasks.processes import PAYYMO, ROOT, payymo_env

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

# The killed run's chunk (PAYYMO_RECONCILE_CHUNK_SIZE): three of them make a run long
# enough to kill half way, at a quarter of the default's data.
CHUNK_SIZE = 250


def request_run(sessions, tenant_id: str) -> str:
    """Ask for a reconcile run as an import would; committed, so it reaches Redis."""
    with sessions() as session, tenant_scope(tenant_id):
        job = job_service.request_reconcile(session=session, reason="test")
        session.commit()
        return job.id


def enqueue_extra(sessions, tenant_id: str) -> str:
    """A second reconcile job for the tenant, bypassing coalescing on purpose."""
    with sessions() as session, tenant_scope(tenant_id):
        job = Job(type="reconcile", status="queued")
        session.add(job)
        session.flush()
        jobs.enqueue(
            session,
            job_service.RECONCILE_TASK,
            tenant_id,
            job.id,
            job_id=job_service.rq_job_id(tenant_id, job.id),
        )
        session.commit()
        return job.id


def start_worker(settings, log_path, **env) -> subprocess.Popen:
    """A real ``payymo worker --burst`` in its own process group (its job runs in a child)."""
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [PAYYMO, "worker", "--burst"],
            cwd=ROOT,
            env=payymo_env(settings, **env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def children(pid: int) -> list[int]:
    """Ids of the direct children of process ``pid`` (from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        # Fields after the parenthesised command name: state, ppid, ...
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry))
    return found


def tail(log_path) -> str:
    with open(log_path) as fh:
        return fh.read()[-3000:]


def finish(proc: subprocess.Popen, log_path) -> None:
    assert proc.wait(timeout=180) == 0, tail(log_path)


def outcome(session: Session, tenant_id: str) -> dict:
    """The tenant's reconciliation state in ids-free terms (remittance text, invoice number)."""
    with tenant_scope(tenant_id):
        texts = select(Transaction.id, Transaction.remittance_information)
        label = dict(session.execute(texts).all())
        number = dict(session.execute(select(Invoice.id, Invoice.number)).all())
        matched = sorted(
            (
                label[m.transaction_id],
                m.method,
                tuple(sorted((number[a.invoice_id], a.amount) for a in m.allocations)),
            )
            for m in session.scalars(select(Match).where(Match.status == "active"))
        )
        suggested = sorted(
            (label[s.transaction_id], s.rank, tuple(number[i] for i in s.invoice_ids))
            for s in session.scalars(select(Suggestion).where(Suggestion.status == "open"))
        )
        statuses = sorted(
            (label[t.id], t.match_status, t.amount_allocated)
            for t in session.scalars(select(Transaction))
        )
        paid = sorted(
            (number[i.id], i.status, i.amount_paid) for i in session.scalars(select(Invoice))
        )
    return {"matched": matched, "suggested": suggested, "statuses": statuses, "paid": paid}


def job_row(session: Session, tenant_id: str, job_id: str) -> Job:
    with tenant_scope(tenant_id):
        return session.get_one(Job, job_id, populate_existing=True)


def contested_world(sessions, n_invoices: int = 150) -> tuple[str, list[tuple[str, str, int]]]:
    """Each invoice wanted by three credits that name it and pay it in full."""
    tenant_id, acc = new_tenant(sessions, "Race Ltd")
    rows, credits = [], []
    for i in range(n_invoices):
        amount = 1_000 + i
        rows.append(invoice_row(f"INV-{i:05d}", amount, f"Customer {i} BV"))
        for copy in range(3):
            credits.append(
                credit_row(acc, amount, f"INV-{i:05d} payment {copy}", f"Customer {i} BV")
            )
    with sessions() as session:
        invoice_ids = add(session, tenant_id, *rows)
        add(session, tenant_id, *credits)
    # (invoice id, id of its third credit, amount): what a person matches by hand below.
    manual = [(invoice_ids[i], credits[3 * i + 2].id, 1_000 + i) for i in range(n_invoices)]
    return tenant_id, manual


def match_by_hand(sessions, tenant_id: str, todo, stop: threading.Event, tally: dict) -> None:
    """A person matching credits while the runs work: apply_match, commit or give up."""
    with sessions() as session, tenant_scope(tenant_id):
        for invoice_id, txn_id, amount in reversed(todo):
            if stop.is_set():
                break
            try:
                allocations.apply_match(
                    session=session,
                    transaction_id=txn_id,
                    allocations=[(invoice_id, amount)],
                    method="manual",
                    created_by="person",
                )
                session.commit()
                tally["manual"] += 1
            except PayymoError:
                session.rollback()
                tally["refused"] += 1
            time.sleep(0.005)


def test_two_workers_racing_on_one_tenant_never_overallocate(settings, sessions, tmp_path):
    tenant_id, manual = contested_world(sessions)
    first = request_run(sessions, tenant_id)
    second = enqueue_extra(sessions, tenant_id)
    workers = [start_worker(settings, tmp_path / f"w{n}.log") for n in range(2)]
    stop, tally = threading.Event(), defaultdict(int)
    person = threading.Thread(target=match_by_hand, args=(sessions, tenant_id, manual, stop, tally))
    person.start()
    try:
        for n, proc in enumerate(workers):
            finish(proc, tmp_path / f"w{n}.log")
    finally:
        stop.set()
        person.join()
    with sessions() as session:
        assert_books_balance(session, tenant_id)
        runs = [job_row(session, tenant_id, job_id) for job_id in (first, second)]
        assert [r.status for r in runs] == ["succeeded", "succeeded"]
        with tenant_scope(tenant_id):
            live = session.scalars(select(Match).where(Match.status == "active")).all()
            for inv in session.scalars(select(Invoice)):
                assert (inv.status, inv.amount_paid) == ("paid", inv.amount_due)
    # Each invoice was paid exactly once: by a run or by the person, never both.
    assert len(live) == len(manual)
    autos = sum(1 for m in live if m.method == "auto")
    assert autos == sum(r.result["auto_matched"] for r in runs)
    assert len(live) - autos == tally["manual"]


def test_the_same_job_delivered_twice_runs_once(settings, sessions, tmp_path):
    tenant_id, acc = new_tenant(sessions, "Twice Ltd")
    with sessions() as session:
        add(session, tenant_id, invoice_row("INV-1", 5_000, "Initech BV"))
        add(session, tenant_id, credit_row(acc, 5_000, "INV-1", "Initech BV"))
    job_id = request_run(sessions, tenant_id)
    with sessions() as session:  # the very same RQ job again: two entries in the queue
        rq_id = job_service.rq_job_id(tenant_id, job_id)
        jobs.enqueue(session, job_service.RECONCILE_TASK, tenant_id, job_id, job_id=rq_id)
        session.commit()
    assert Queue("default", connection=redis.Redis.from_url(settings.redis_url)).job_ids == [
        rq_id,
        rq_id,
    ]
    proc = start_worker(settings, tmp_path / "w.log")
    finish(proc, tmp_path / "w.log")
    with sessions() as session:
        assert_books_balance(session, tenant_id)
        assert job_row(session, tenant_id, job_id).status == "succeeded"
        with tenant_scope(tenant_id):
            assert len(session.scalars(select(Match)).all()) == 1


def big_world(sessions, name: str, n_clear: int, n_twins: int) -> str:
    """Clear credits (own reference, exact amount) interleaved with ambiguous ones."""
    tenant_id, acc = new_tenant(sessions, name)
    rows, credits = [], []
    for i in range(n_clear):
        rows.append(invoice_row(f"INV-{i:05d}", 2_000 + i, f"Customer {i} BV"))
    for i in range(n_twins):
        rows.append(invoice_row(f"TW-A-{i}", 900_000 + i, f"Twin A {i} GmbH"))
        rows.append(invoice_row(f"TW-B-{i}", 900_000 + i, f"Twin B {i} Ltd"))
    step = n_clear // n_twins
    for i in range(n_clear):
        credits.append(credit_row(acc, 2_000 + i, f"INV-{i:05d}", f"Customer {i} BV"))
        if i % step == 0:
            k = i // step
            credits.append(credit_row(acc, 900_000 + k, f"monthly {k}", f"Somebody {k}"))
    with sessions() as session:
        add(session, tenant_id, *rows)
        add(session, tenant_id, *credits)
    return tenant_id


def matched_count(session: Session, tenant_id: str) -> int:
    with tenant_scope(tenant_id):
        return len(session.scalars(select(Match.id)).all())


def test_a_job_killed_half_way_leaves_whole_chunks_and_a_rerun_finishes_the_same(
    settings, sessions, tmp_path
):
    n_clear, n_twins = 3 * CHUNK_SIZE, 30
    killed = big_world(sessions, "Killed Ltd", n_clear, n_twins)
    calm = big_world(sessions, "Calm Ltd", n_clear, n_twins)
    job_id = request_run(sessions, killed)
    chunks = {"PAYYMO_RECONCILE_CHUNK_SIZE": str(CHUNK_SIZE)}
    proc = start_worker(settings, tmp_path / "killed.log", **chunks)
    deadline = time.monotonic() + 120
    with sessions() as session:
        while matched_count(session, killed) == 0:
            assert proc.poll() is None, "the worker finished before it could be killed"
            assert time.monotonic() < deadline, tail(tmp_path / "killed.log")
            time.sleep(0.02)
    for horse in children(proc.pid):  # the child process RQ forked to run the job
        os.kill(horse, signal.SIGKILL)
    proc.wait(timeout=60)
    with sessions() as session:
        assert_books_balance(session, killed)
        done = matched_count(session, killed)
        assert 0 < done < n_clear
        with tenant_scope(killed):
            credits = session.scalars(
                select(Transaction).order_by(Transaction.booking_date, Transaction.id)
            ).all()
            matched = set(session.scalars(select(Match.transaction_id)))
        # Automatic matches are written in the engine's order (booking date, then id),
        # a chunk of CHUNK_SIZE committed whole: the matched credits are exactly the
        # first ``done`` clear ones.
        assert done % CHUNK_SIZE == 0
        clear = [t.id for t in credits if t.remittance_information.startswith("INV")]
        assert matched == set(clear[:done])
        assert job_row(session, killed, job_id).status == "running"
    rerun = request_run(sessions, killed)
    assert rerun != job_id
    proc = start_worker(settings, tmp_path / "rerun.log", **chunks)
    finish(proc, tmp_path / "rerun.log")
    reconcile_tenant(calm, None)  # the same data, never interrupted
    with sessions() as session:
        assert_books_balance(session, killed)
        assert matched_count(session, killed) == n_clear
        assert outcome(session, killed) == outcome(session, calm)
        stale = job_row(session, killed, job_id)
        assert (stale.status, stale.error) == ("failed", job_service.LOST)
        assert job_row(session, killed, rerun).status == "succeeded"


def multi_currency_world(sessions, name: str, per_currency: int) -> str:
    """Clear credits in EUR and GBP: a run over them can use an engine per currency."""
    tenant_id, _ = new_tenant(sessions, name)
    for currency in ("EUR", "GBP"):
        with sessions() as session:
            acc = account(session, tenant_id, currency=currency)
            rows = [
                invoice_row(f"{currency}-{i:06d}", 2_000 + i, f"Customer {i} BV", currency=currency)
                for i in range(per_currency)
            ]
            rows += [
                credit_row(
                    acc, 2_000 + i, f"{currency}-{i:06d}", f"Customer {i} BV", currency=currency
                )
                for i in range(per_currency)
            ]
            add(session, tenant_id, *rows)
    return tenant_id


def gone_or_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def engine_processes(horse: int) -> list[int]:
    """The engine processes a work horse spawned (not its resource tracker)."""
    found = []
    for pid in children(horse):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"spawn_main" in fh.read():
                    found.append(pid)
        except OSError:
            continue
    return found


def test_engine_processes_stop_with_a_killed_job_and_a_rerun_finishes_the_same(
    settings, sessions, tmp_path
):
    per_currency = 600
    engines_env = {"PAYYMO_RECONCILE_PROCESSES": "2", "PAYYMO_RECONCILE_PARALLEL_MIN": "1000"}
    killed = multi_currency_world(sessions, "Engines Ltd", per_currency)
    request_run(sessions, killed)
    proc = start_worker(settings, tmp_path / "killed.log", **engines_env)
    deadline = time.monotonic() + 180
    engines: list[int] = []
    while len(engines) < 2:  # one engine process per currency
        assert proc.poll() is None, tail(tmp_path / "killed.log")
        assert time.monotonic() < deadline, tail(tmp_path / "killed.log")
        time.sleep(0.05)
        engines = [pid for horse in children(proc.pid) for pid in engine_processes(horse)]
    for horse in children(proc.pid):
        os.kill(horse, signal.SIGKILL)
    proc.wait(timeout=60)
    # Orphaned engines find their run gone at their next send and exit; they hold no
    # database connection, so nothing of the killed job stays locked.
    deadline = time.monotonic() + 60
    while not all(gone_or_zombie(pid) for pid in engines):
        assert time.monotonic() < deadline, "engine processes outlived their run"
        time.sleep(0.1)
    with sessions() as session:
        assert_books_balance(session, killed)
    request_run(sessions, killed)
    proc = start_worker(settings, tmp_path / "rerun.log", **engines_env)
    finish(proc, tmp_path / "rerun.log")
    assert "reconcile engine processes started" in (tmp_path / "rerun.log").read_text()
    with sessions() as session:
        assert_books_balance(session, killed)
        result = outcome(session, killed)
    # Every credit names its own invoice and pays it exactly: each is matched to it, once.
    assert len(result["matched"]) == 2 * per_currency
    assert all(
        lines == ((label, lines[0][1]),) and method == "auto"
        for label, method, lines in result["matched"]
    )
    assert {status for _, status, _ in result["paid"]} == {"paid"}
