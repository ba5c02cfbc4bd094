"""The sweep against real ``payymo worker`` / ``payymo serve`` processes.

Like test_reconcile_e2e, this commits for real and deletes its tenants afterwards.
Interleavings are made deterministic with row locks: a worker is killed only once
PostgreSQL shows its backend waiting on a lock the test holds (so it is mid-job).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest
import redis
from rq import Queue
from rq.job import Job as RqJob
from rq.job import JobStatus
from sqlalchemy import select, text

from payymo import queue_state, runtime, sweeper
from payymo.db import utcnow
from payymo.models import Job, Match, Transaction
from payymo.services import job_sweeper
from payymo.services import jobs as job_service
from payymo.tenancy import tenant_scope
from tasks.maintenance import sweep_jobs
from tests.books import assert_books_balance
from tests.reconcile_world import add, credit_row, invoice_row, new_tenant
from tests.tasks.processes import PAYYMO, ROOT, free_port, payymo_env
from tests.tasks.test_reconcile_e2e import (
    children,
    finish,
    job_row,
    start_worker,
    tail,
)

LATER = job_sweeper.QUEUED_GRACE + job_sweeper.QUEUED_GRACE  # past the grace period
DEADLINE = 90  # seconds a test waits for a worker or server to do what it must


@pytest.fixture(autouse=True)
def _no_sweep_lease(settings):
    """Each test starts with no worker holding this interval's sweep lease."""
    if settings.redis_url:
        redis.Redis.from_url(settings.redis_url).delete(sweeper.LEASE_KEY)


def world(sessions, name: str) -> tuple[str, str]:
    """A committed tenant with an invoice and the credit that pays it: (tenant, credit id)."""
    tenant_id, acc = new_tenant(sessions, name)
    with sessions() as session:
        add(session, tenant_id, invoice_row("INV-1", 5_000, "Initech BV"))
        [credit] = add(session, tenant_id, credit_row(acc, 5_000, "INV-1", "Initech BV"))
    return tenant_id, credit


def lost_job(sessions, tenant_id: str) -> str:
    """A committed reconcile row queued a while ago that never reached the queue."""
    with sessions() as session, tenant_scope(tenant_id):
        row = Job(type="reconcile", status="queued", created_at=utcnow() - LATER)
        session.add(row)
        session.commit()
        return row.id


def matches(sessions, tenant_id: str) -> int:
    with sessions() as session, tenant_scope(tenant_id):
        return len(session.scalars(select(Match.id)).all())


def queued_ids(settings, queue: str = "default") -> list[str]:
    return Queue(queue, connection=redis.Redis.from_url(settings.redis_url)).job_ids


def wait_for_status(sessions, tenant_id, job_id, status, proc, log_path) -> None:
    """Poll the job row until it reaches ``status`` (the process must stay up meanwhile)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        with sessions() as session:
            if job_row(session, tenant_id, job_id).status == status:
                return
        assert proc.poll() is None, tail(log_path)
        assert time.monotonic() < deadline, tail(log_path)
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


# -- lost enqueues ----------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.postgres
def test_a_run_requested_while_redis_was_down_is_picked_up_when_it_returns(
    settings, sessions, tmp_path, caplog
):
    tenant_id, _ = world(sessions, "Outage Ltd")
    original = runtime.settings()
    # Nothing listens there: the enqueue after commit fails, the requester never notices.
    runtime.configure(original.with_overrides(redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    try:
        with sessions() as session, tenant_scope(tenant_id):
            job_id = job_service.request_reconcile(session=session, reason="test").id
            session.commit()
    finally:
        runtime.configure(original)
    assert "job not enqueued: Redis unavailable" in [r.getMessage() for r in caplog.records]
    rq_id = job_service.rq_job_id(tenant_id, job_id)
    assert rq_id not in queued_ids(settings)
    assert sweep_jobs(now=utcnow() + LATER)["redispatched"] == 1
    assert queued_ids(settings) == [rq_id]
    proc = start_worker(settings, tmp_path / "w.log")
    finish(proc, tmp_path / "w.log")
    with sessions() as session:
        row = job_row(session, tenant_id, job_id)
        assert (row.status, row.attempts) == ("succeeded", 1)
        assert_books_balance(session, tenant_id)
    assert matches(sessions, tenant_id) == 1


# -- dead workers -----------------------------------------------------------------------------


def backends_waiting_on_a_lock(session) -> int:
    count = session.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
    )
    session.rollback()  # pg_stat_activity is a snapshot per transaction
    return count


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.parametrize("killed", ["worker", "work horse"])
def test_a_run_whose_worker_was_killed_mid_job_is_requeued_and_completes(
    settings, sessions, tmp_path, killed
):
    tenant_id, credit = world(sessions, "Killed Ltd")
    with sessions() as holder, tenant_scope(tenant_id):
        # The run's writer locks the credit it matches: hold it, so the job stops there.
        holder.execute(select(Transaction.id).where(Transaction.id == credit).with_for_update())
        with sessions() as session, tenant_scope(tenant_id):
            job_id = job_service.request_reconcile(session=session, reason="test").id
            session.commit()
        proc = start_worker(settings, tmp_path / "killed.log")
        deadline = time.monotonic() + DEADLINE
        with sessions() as watcher:
            while backends_waiting_on_a_lock(watcher) == 0:
                assert proc.poll() is None, tail(tmp_path / "killed.log")
                assert time.monotonic() < deadline, tail(tmp_path / "killed.log")
                time.sleep(0.02)
            assert job_row(watcher, tenant_id, job_id).status == "running"
        horses = children(proc.pid)  # RQ forks the job into a session of its own
        if killed == "worker":
            os.kill(proc.pid, signal.SIGKILL)  # first, so nobody is left to record the loss
        for horse in horses:
            os.kill(horse, signal.SIGKILL)
        proc.wait(timeout=60)
        holder.rollback()
    rq_id = job_service.rq_job_id(tenant_id, job_id)
    rq_job = RqJob.fetch(rq_id, connection=redis.Redis.from_url(settings.redis_url))
    if killed == "worker":
        # RQ still says started, on a worker whose key has not expired yet: only the
        # missing heartbeat tells it is dead, so the sweep waits out the grace period.
        assert rq_job.get_status() == JobStatus.STARTED
        assert sweep_jobs().get("requeued", 0) == 0
        with sessions() as session:
            assert job_row(session, tenant_id, job_id).status == "running"
        now = utcnow() + queue_state.HEARTBEAT_GRACE + LATER
    else:
        assert rq_job.get_status() == JobStatus.FAILED
        now = utcnow()
    assert sweep_jobs(now=now)["requeued"] == 1
    with sessions() as session:
        row = job_row(session, tenant_id, job_id)
        assert (row.status, row.attempts) == ("queued", 1)
    assert queued_ids(settings) == [rq_id]
    proc = start_worker(settings, tmp_path / "rerun.log")
    finish(proc, tmp_path / "rerun.log")
    with sessions() as session:
        row = job_row(session, tenant_id, job_id)
        assert (row.status, row.attempts, row.error) == ("succeeded", 2, None)
        assert_books_balance(session, tenant_id)
    assert matches(sessions, tenant_id) == 1


# -- two sweepers -----------------------------------------------------------------------------


@pytest.mark.redis
@pytest.mark.postgres
def test_a_job_row_another_transaction_holds_is_left_for_the_next_sweep(settings, sessions):
    tenant_id, _ = world(sessions, "Held Ltd")
    job_id = lost_job(sessions, tenant_id)
    rq_id = job_service.rq_job_id(tenant_id, job_id)
    with sessions() as holder, tenant_scope(tenant_id):
        holder.execute(select(Job.id).where(Job.id == job_id).with_for_update())
        assert sweep_jobs()["locked"] == 1  # SKIP LOCKED: no waiting, no dispatch
        assert rq_id not in queued_ids(settings)
        holder.rollback()
    assert sweep_jobs()["redispatched"] == 1
    assert queued_ids(settings) == [rq_id]


@pytest.mark.redis
@pytest.mark.postgres
def test_sweeps_running_at_once_queue_each_lost_job_once(settings, sessions):
    lost = {}
    for n in range(6):
        tenant_id, _ = world(sessions, f"Concurrent {n}")
        lost[tenant_id] = lost_job(sessions, tenant_id)
    start = threading.Barrier(4)
    results: list[dict] = []

    def sweep() -> None:
        start.wait()
        results.append(sweep_jobs())

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.get("redispatched", 0) for r in results) == len(lost)
    expected = [job_service.rq_job_id(t, j) for t, j in lost.items()]
    assert Counter(queued_ids(settings)) == Counter(expected)


# -- the periodic sweepers --------------------------------------------------------------------


@pytest.mark.redis
def test_the_sweep_is_enqueued_once_per_interval_across_workers(app, settings, sessions):
    conn = redis.Redis.from_url(settings.redis_url)
    assert sweeper.enqueue_sweep(conn, 60)
    assert not sweeper.enqueue_sweep(conn, 60)  # another worker, same interval
    conn.delete(sweeper.LEASE_KEY)
    assert not sweeper.enqueue_sweep(conn, 60)  # the last sweep has not run yet
    assert queued_ids(settings, "high") == [sweeper.SWEEP_JOB_ID]


@pytest.mark.redis
@pytest.mark.postgres
def test_the_worker_command_sweeps_periodically(settings, sessions, tmp_path):
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [PAYYMO, "worker"],
            cwd=ROOT,
            env=payymo_env(settings, PAYYMO_SWEEP_INTERVAL="1"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # Two jobs lost one after the other: each is caught up by a later sweep.
        for name in ("Periodic A", "Periodic B"):
            tenant_id, _ = world(sessions, name)
            job_id = lost_job(sessions, tenant_id)
            wait_for_status(sessions, tenant_id, job_id, "succeeded", proc, log_path)
            assert matches(sessions, tenant_id) == 1
    finally:
        assert stop(proc) == 0, tail(log_path)
    assert "jobs swept" in log_path.read_text()


def test_embedded_serve_sweeps_in_process(app, settings, sessions, tmp_path):
    tenant_id, _ = world(sessions, "Embedded Ltd")
    job_id = lost_job(sessions, tenant_id)
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [PAYYMO, "serve", "--host", "127.0.0.1", "--port", str(free_port())],
            cwd=ROOT,
            env=payymo_env(
                settings,
                PAYYMO_ENV="development",
                PAYYMO_REDIS_URL=None,
                PAYYMO_SWEEP_INTERVAL="1",
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_status(sessions, tenant_id, job_id, "succeeded", proc, log_path)
    finally:
        stop(proc)
    assert matches(sessions, tenant_id) == 1
