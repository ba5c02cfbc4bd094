"""The worker's warm-up: it reconciles for real, leaves nothing behind, and never stops a worker.

It works on its own connection from the engine (as the worker does, before it forks),
so these tests look through fresh connections, not the savepoint fixture.
"""

from __future__ import annotations

import logging

from sqlalchemy import create_engine, func, select

from payymo import db, jobs, runtime, warm_up
from payymo.models import Event, Invoice, Match, Tenant, Transaction
from payymo.tenancy import system_scope

COUNTED = (Tenant, Invoice, Transaction, Match, Event)


def _counts() -> dict[str, int]:
    with db.session_factory(bind=db.engine()) as session, system_scope():
        return {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in COUNTED
        }


def test_warm_up_reconciles_and_leaves_nothing_behind(app, monkeypatch):
    runs = []
    real_run = warm_up.run_reconciliation

    def counting_run(**kwargs):
        counts = real_run(**kwargs)
        runs.append(counts)
        return counts

    monkeypatch.setattr(warm_up, "run_reconciliation", counting_run)
    before = _counts()
    took = warm_up.warm_up()
    assert took is not None and took > 0
    pool = db.engine().pool  # nothing for a forked job to inherit
    assert pool.checkedout() == 0 and pool.checkedin() == 0
    # A full run of the demo data, then an incremental run that matches the line paying
    # INV-1009: the statements the worker's runs use, compiled before it forks.
    assert [run["mode"] for run in runs] == ["full", "incremental"]
    assert runs[0]["auto_matched"] >= 4 and runs[1]["auto_matched"] == 1
    assert _counts() == before


def _queued_jobs() -> set[str]:
    """Every job RQ holds in its queues (PostgreSQL suite) or runs in-process (embedded)."""
    from rq import Queue

    connection = runtime.redis_connection()
    if connection is None:
        return set(jobs.running_in_process())
    return {job_id for name in jobs.QUEUES for job_id in Queue(name, connection=connection).job_ids}


def test_warm_up_sends_no_job(app, caplog):
    """Its commits are savepoints: a job sent for the throwaway tenant would find none
    (queued in Redis; or, embedded, run at once and logged as failed)."""
    before = _queued_jobs()
    with caplog.at_level(logging.ERROR):
        assert warm_up.warm_up() is not None
    assert _queued_jobs() == before
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def test_a_failed_warm_up_is_logged_and_the_worker_goes_on(app, monkeypatch, caplog):
    unreachable = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    if db.engine().dialect.name == "sqlite":
        unreachable = create_engine("sqlite:////nonexistent-dir/warm-up.db")
    monkeypatch.setattr(db, "engine", lambda: unreachable)
    with caplog.at_level(logging.WARNING, logger="payymo.warm_up"):
        assert warm_up.warm_up() is None
    assert "worker warm-up failed" in caplog.text
