"""The job sweep in this process: what it re-dispatches, retries, gives up on and leaves alone.

RQ-mode tests look at the real Redis queue the sweep enqueues to (no worker runs here;
test_sweeper_e2e runs real ones). ``in_process`` tests run on the embedded default,
where the sweep runs a job right away, as ``payymo serve`` does.
"""

from __future__ import annotations

import datetime as dt

import pytest
import redis
from rq import Queue
from sqlalchemy import select

from payymo.db import utcnow
from payymo.models import Job, Match, Tenant
from payymo.services import job_sweeper
from payymo.services import jobs as job_service
from payymo.tenancy import tenant_scope
from tasks.maintenance import SWEEP_BUSY, sweep_jobs
from tests.reconcile_world import account, add, credit_row, invoice_row

LONG_AGO = dt.timedelta(minutes=5)


@pytest.fixture
def queue(app, settings):
    """The default RQ queue, emptied before the test."""
    conn = redis.Redis.from_url(settings.redis_url)
    queue = Queue("default", connection=conn)
    queue.empty()
    yield queue
    queue.empty()


def _job(session, tenant_id: str, status: str = "queued", age=LONG_AGO, **values) -> str:
    """A committed reconcile Job row nobody enqueued (as if its enqueue was lost)."""
    with tenant_scope(tenant_id):
        row = Job(type="reconcile", status=status, created_at=utcnow() - age, **values)
        session.add(row)
        session.commit()
        return row.id


def _row(session, tenant_id: str, job_id: str) -> Job:
    session.expire_all()
    with tenant_scope(tenant_id):
        return session.get_one(Job, job_id)


def _matchable(session, tenant_id: str) -> None:
    """An invoice and a credit that plainly pays it: a run auto-matches them."""
    acc = account(session, tenant_id)
    add(session, tenant_id, invoice_row("INV-7", 5_000, "Initech BV"))
    add(session, tenant_id, credit_row(acc, 5_000, "INV-7", "Initech BV"))


def _matches(session, tenant_id: str) -> int:
    with tenant_scope(tenant_id):
        return len(session.scalars(select(Match.id)).all())


def _ours(queue: Queue, tenant_id: str) -> list[str]:
    prefix = job_service.rq_job_id(tenant_id, "")
    return [job_id for job_id in queue.job_ids if job_id.startswith(prefix)]


def _break_settings(session, tenant_id: str, broken: bool = True) -> None:
    """A reconcile run of this tenant fails (its threshold is not a number) until mended."""
    with tenant_scope(tenant_id):
        row = session.get_one(Tenant, tenant_id)
        threshold = "not a number" if broken else 0.9
        row.settings = {**row.effective_settings, "auto_match_threshold": threshold}
        session.commit()


# -- RQ: lost enqueues and dead workers -----------------------------------------------------


@pytest.mark.redis
def test_a_queued_job_whose_enqueue_was_lost_is_dispatched_once(session, tenant, queue):
    lost = _job(session, tenant.tenant_id)
    fresh = _job(session, tenant.tenant_id, age=dt.timedelta(seconds=5))
    assert _ours(queue, tenant.tenant_id) == []
    counts = sweep_jobs()
    assert counts["redispatched"] >= 1
    assert _ours(queue, tenant.tenant_id) == [job_service.rq_job_id(tenant.tenant_id, lost)]
    assert queue.fetch_job(_ours(queue, tenant.tenant_id)[0]).timeout == (
        job_service.RECONCILE_TIMEOUT
    )
    # Its RQ job now exists: sweeping again queues nothing more; the fresh one is left alone
    # (its own commit is about to enqueue it).
    sweep_jobs()
    assert _ours(queue, tenant.tenant_id) == [job_service.rq_job_id(tenant.tenant_id, lost)]
    assert _row(session, tenant.tenant_id, lost).status == "queued"
    assert _row(session, tenant.tenant_id, fresh).status == "queued"


@pytest.mark.redis
def test_a_running_job_with_no_rq_job_is_requeued(session, tenant, queue):
    started = utcnow() - LONG_AGO
    dead = _job(session, tenant.tenant_id, status="running", started_at=started, attempts=1)
    sweep_jobs()
    row = _row(session, tenant.tenant_id, dead)
    assert (row.status, row.attempts) == ("queued", 1)
    assert _ours(queue, tenant.tenant_id) == [job_service.rq_job_id(tenant.tenant_id, dead)]


@pytest.mark.redis
def test_a_running_job_still_queued_in_rq_is_left_alone(session, tenant, queue):
    with tenant_scope(tenant.tenant_id):
        job = job_service.request_reconcile(session=session, reason="test")
        session.commit()
    session.expire_all()
    with tenant_scope(tenant.tenant_id):
        session.get_one(Job, job.id).status = "running"
        session.commit()
    sweep_jobs(now=utcnow() + LONG_AGO)
    assert _row(session, tenant.tenant_id, job.id).status == "running"
    assert _ours(queue, tenant.tenant_id) == [job_service.rq_job_id(tenant.tenant_id, job.id)]


@pytest.mark.redis
def test_a_dead_run_is_given_up_after_the_last_attempt(session, tenant, queue):
    attempts = job_service.MAX_ATTEMPTS
    dead = _job(session, tenant.tenant_id, status="running", attempts=attempts)
    sweep_jobs()
    row = _row(session, tenant.tenant_id, dead)
    assert (row.status, row.next_attempt_at) == ("failed", None)
    assert row.error == job_service.gave_up(job_sweeper.WORKER_LOST, attempts)
    assert _ours(queue, tenant.tenant_id) == []


@pytest.mark.redis
def test_a_dead_run_is_not_requeued_when_a_later_run_is_queued(session, tenant, queue):
    dead = _job(session, tenant.tenant_id, status="running", attempts=1)
    later = _job(session, tenant.tenant_id, age=dt.timedelta(seconds=1))
    sweep_jobs()
    row = _row(session, tenant.tenant_id, dead)
    assert (row.status, row.error) == ("failed", job_service.SUPERSEDED)
    assert _row(session, tenant.tenant_id, later).status == "queued"
    assert _ours(queue, tenant.tenant_id) == []


# -- two sweeps at once -----------------------------------------------------------------------


def test_a_sweep_while_another_holds_the_lock_does_nothing(in_process, session, tenant):
    _matchable(session, tenant.tenant_id)
    lost = _job(session, tenant.tenant_id)
    with job_sweeper.sweep_lock(session) as held:
        assert held
        assert sweep_jobs() == SWEEP_BUSY
        assert _row(session, tenant.tenant_id, lost).status == "queued"
    assert sweep_jobs()["redispatched"] >= 1
    assert _row(session, tenant.tenant_id, lost).status == "succeeded"
    assert _matches(session, tenant.tenant_id) == 1


# -- retries with backoff ---------------------------------------------------------------------


def test_a_failed_run_is_retried_with_backoff_and_given_up_after_the_last_attempt(
    in_process, app, session, tenant, api
):
    _break_settings(session, tenant.tenant_id)
    with tenant_scope(tenant.tenant_id):
        job_id = job_service.request_reconcile(session=session, reason="test").id
        session.commit()  # runs in-process at once, and fails
    delays = []
    for attempt in range(1, job_service.MAX_ATTEMPTS):
        row = _row(session, tenant.tenant_id, job_id)
        assert (row.status, row.attempts, row.error) == ("failed", attempt, job_service.FAILED)
        delays.append(row.next_attempt_at - row.finished_at)
        # Not due yet: the sweep leaves it failed.
        sweep_jobs(now=row.next_attempt_at - dt.timedelta(seconds=1))
        assert _row(session, tenant.tenant_id, job_id).attempts == attempt
        assert sweep_jobs(now=row.next_attempt_at)["retried"] == 1
    assert delays == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    row = _row(session, tenant.tenant_id, job_id)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 5, None)
    assert row.error == job_service.gave_up(job_service.FAILED, 5)
    assert sweep_jobs(now=utcnow() + dt.timedelta(days=30)).get("retried", 0) == 0
    assert _row(session, tenant.tenant_id, job_id).attempts == 5
    body = api.get(f"jobs/{job_id}").json
    assert (body["status"], body["attempts"], body["next_attempt_at"]) == ("failed", 5, None)
    assert "not retried again" in body["error"]


def test_a_retry_that_succeeds_ends_the_retries(in_process, session, tenant, api):
    _matchable(session, tenant.tenant_id)
    _break_settings(session, tenant.tenant_id)
    with tenant_scope(tenant.tenant_id):
        job_id = job_service.request_reconcile(session=session, reason="test").id
        session.commit()
    failed = _row(session, tenant.tenant_id, job_id)
    assert (failed.status, failed.attempts) == ("failed", 1)
    body = api.get(f"jobs/{job_id}").json
    assert body["next_attempt_at"] == failed.next_attempt_at.isoformat()
    _break_settings(session, tenant.tenant_id, broken=False)
    sweep_jobs(now=failed.next_attempt_at)
    row = _row(session, tenant.tenant_id, job_id)
    assert (row.status, row.attempts, row.error, row.next_attempt_at) == (
        "succeeded",
        2,
        None,
        None,
    )
    assert _matches(session, tenant.tenant_id) == 1


def test_a_later_run_ends_the_retries_of_an_earlier_failed_one(in_process, session, tenant):
    _break_settings(session, tenant.tenant_id)
    with tenant_scope(tenant.tenant_id):
        first = job_service.request_reconcile(session=session, reason="test").id
        session.commit()
    assert _row(session, tenant.tenant_id, first).next_attempt_at is not None
    _break_settings(session, tenant.tenant_id, broken=False)
    with tenant_scope(tenant.tenant_id):
        second = job_service.request_reconcile(session=session, reason="test").id
        session.commit()
    assert _row(session, tenant.tenant_id, second).status == "succeeded"
    row = _row(session, tenant.tenant_id, first)
    assert (row.status, row.error, row.next_attempt_at) == (
        "failed",
        job_service.SUPERSEDED,
        None,
    )


# -- the embedded default ---------------------------------------------------------------------


def test_embedded_sweep_runs_a_lost_queued_job_in_process(in_process, session, tenant):
    _matchable(session, tenant.tenant_id)
    lost = _job(session, tenant.tenant_id)
    fresh_tenant_job = _job(session, tenant.tenant_id, age=dt.timedelta(seconds=1))
    counts = sweep_jobs()
    assert counts["redispatched"] >= 1
    row = _row(session, tenant.tenant_id, lost)
    assert (row.status, row.attempts) == ("succeeded", 1)
    assert _matches(session, tenant.tenant_id) == 1
    assert _row(session, tenant.tenant_id, fresh_tenant_job).status == "queued"


def test_embedded_sweep_requeues_a_run_only_once_it_outlived_its_timeout(
    in_process, session, tenant, other_tenant
):
    _matchable(session, tenant.tenant_id)
    recent = utcnow() - dt.timedelta(minutes=10)  # maybe still running in another process
    old = utcnow() - job_sweeper.EMBEDDED_RUN_LOST_AFTER - dt.timedelta(minutes=1)
    alive = _job(session, other_tenant.tenant_id, status="running", started_at=recent, attempts=1)
    dead = _job(session, tenant.tenant_id, status="running", started_at=old, attempts=1)
    sweep_jobs()
    assert _row(session, other_tenant.tenant_id, alive).status == "running"
    row = _row(session, tenant.tenant_id, dead)
    assert (row.status, row.attempts) == ("succeeded", 2)
    assert _matches(session, tenant.tenant_id) == 1
