"""A real ``payymo worker --burst`` process against real Redis and PostgreSQL.

The savepoint fixtures are invisible to another process, so this module commits for
real through a plain engine session and deletes what it created afterwards (deleting a
tenant cascades to everything it owns).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import uuid
from dataclasses import dataclass

import pytest
import redis
from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import delete, select
from sqlalchemy.orm import sessionmaker

from payymo import db, jobs
from payymo.api.invoices.schemas import InvoiceCreate
from payymo.models import Event, IdempotencyRecord, Invoice, Tenant
from payymo.services import invoices
from payymo.services import tenants as tenant_service
from payymo.tenancy import system_scope, tenant_scope
from tests.helpers import invoice_body
from tests.tasks.processes import PAYYMO, ROOT, payymo_env

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

TAG = "tests.tasks.jobs.tag_invoice"


@dataclass
class World:
    """Two committed tenants with one invoice each."""

    sessions: sessionmaker
    tenant_a: str
    invoice_a: str
    tenant_b: str
    invoice_b: str


@pytest.fixture
def world(app, settings):
    # Jobs enqueued by earlier (rolled-back) tests would otherwise reach these workers.
    conn = redis.Redis.from_url(settings.redis_url)
    for name in jobs.QUEUES:
        Queue(name, connection=conn).empty()
    sessions = sessionmaker(bind=db.engine(), expire_on_commit=False)
    ids = {}
    with sessions() as session:
        for name in ("a", "b"):
            tenant = tenant_service.create_tenant(session=session, name=f"Worker {name}")
            with tenant_scope(tenant.id):
                data = InvoiceCreate().load(invoice_body(f"E2E-{name}"))
                ids[name] = (tenant.id, invoices.create_invoice(session=session, data=data).id)
                session.commit()
    yield World(sessions, *ids["a"], *ids["b"])
    with sessions() as session:
        session.execute(delete(Tenant).where(Tenant.id.in_([ids["a"][0], ids["b"][0]])))
        session.commit()


def enqueue(world: World, func: str, *args) -> str:
    """Enqueue through ``payymo.jobs`` and commit (it reaches Redis then); returns the job id."""
    job_id = f"test-{uuid.uuid4().hex}"
    with world.sessions() as session:
        jobs.enqueue(session, func, *args, job_id=job_id)
        session.commit()
    return job_id


def run_worker(settings) -> None:
    proc = subprocess.run(
        [PAYYMO, "worker", "--burst"],
        cwd=ROOT,
        env=payymo_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


def job(settings, job_id: str) -> Job:
    return Job.fetch(job_id, connection=redis.Redis.from_url(settings.redis_url))


def metadata(world: World, tenant_id: str, invoice_id: str) -> dict:
    with world.sessions() as session, tenant_scope(tenant_id):
        return session.get_one(Invoice, invoice_id).metadata_


def test_worker_runs_a_tenant_job_once_in_effect(settings, world):
    first = enqueue(world, TAG, world.tenant_a, world.invoice_a)
    second = enqueue(world, TAG, world.tenant_a, world.invoice_a)
    run_worker(settings)
    assert job(settings, first).get_status() == JobStatus.FINISHED
    assert job(settings, first).return_value() == "tagged"
    assert job(settings, second).return_value() == "unchanged"
    assert metadata(world, world.tenant_a, world.invoice_a) == {"tag": "chased"}
    with world.sessions() as session, tenant_scope(world.tenant_a):
        updated = session.scalars(select(Event).where(Event.type == "invoice.updated")).all()
    assert [e.data["object"]["id"] for e in updated] == [world.invoice_a]


def test_tenant_job_fails_on_another_tenants_invoice(settings, world):
    job_id = enqueue(world, TAG, world.tenant_a, world.invoice_b)
    run_worker(settings)
    failed = job(settings, job_id)
    assert failed.get_status() == JobStatus.FAILED
    assert "NotFound" in failed.latest_result().exc_string
    assert metadata(world, world.tenant_b, world.invoice_b) == {}


def test_failed_job_leaves_no_partial_writes(settings, world):
    job_id = enqueue(world, "tests.tasks.jobs.tag_then_fail", world.tenant_a, world.invoice_a)
    run_worker(settings)
    assert job(settings, job_id).get_status() == JobStatus.FAILED
    assert metadata(world, world.tenant_a, world.invoice_a) == {}


def test_purge_idempotency_records_deletes_only_expired(settings, world):
    now = dt.datetime.now(dt.UTC)
    with world.sessions() as session:
        made = {}
        for tenant_id, label, expires in (
            (world.tenant_a, "expired", now - dt.timedelta(seconds=1)),
            (world.tenant_a, "live", now + dt.timedelta(hours=1)),
            (world.tenant_b, "expired_b", now - dt.timedelta(days=2)),
        ):
            with tenant_scope(tenant_id):
                record = IdempotencyRecord(
                    key=label,
                    request_hash="0" * 64,
                    method="POST",
                    path="/api/v1/invoices",
                    expires_at=expires,
                )
                session.add(record)
                session.flush()
                made[label] = record.id
        session.commit()
    job_id = enqueue(world, "tasks.maintenance.purge_idempotency_records")
    run_worker(settings)
    assert job(settings, job_id).return_value() >= 2
    with world.sessions() as session, system_scope():
        left = set(
            session.scalars(
                select(IdempotencyRecord.id).where(IdempotencyRecord.id.in_(made.values()))
            )
        )
    assert left == {made["live"]}
