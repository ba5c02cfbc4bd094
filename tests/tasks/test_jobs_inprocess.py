"""Jobs without Redis: they run in-process right after the commit that asked for them."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select

from payymo import jobs
from payymo.api.invoices.schemas import InvoiceCreate
from payymo.db import utcnow
from payymo.errors import NotFound
from payymo.models import Event, IdempotencyRecord, Invoice
from payymo.services import invoices
from payymo.tenancy import system_scope, tenant_scope
from tests.helpers import invoice_body
from tests.tasks.jobs import tag_invoice

TAG = "tests.tasks.jobs.tag_invoice"


def _invoice(session, tenant_id: str, external_id: str = "ERP-1") -> str:
    """A committed invoice's id (ids, like jobs take: objects expire on rollback)."""
    data = InvoiceCreate().load(invoice_body(external_id))
    with tenant_scope(tenant_id):
        invoice = invoices.create_invoice(session=session, data=data)
        session.commit()
    return invoice.id


def _metadata(session, tenant_id: str, invoice_id: str) -> dict:
    session.expire_all()
    with tenant_scope(tenant_id):
        return session.get_one(Invoice, invoice_id).metadata_


def test_enqueued_job_runs_right_after_commit(in_process, session, tenant):
    invoice_id = _invoice(session, tenant.tenant_id)
    with tenant_scope(tenant.tenant_id):
        jobs.enqueue(session, TAG, tenant.tenant_id, invoice_id)
        assert _metadata(session, tenant.tenant_id, invoice_id) == {}  # not before commit
        session.commit()
    assert _metadata(session, tenant.tenant_id, invoice_id) == {"tag": "chased"}


def test_dispatch_runs_synchronously(in_process, session, tenant):
    invoice_id = _invoice(session, tenant.tenant_id)
    jobs.dispatch(jobs.PendingJob(TAG, (tenant.tenant_id, invoice_id, "vip"), "high", None))
    assert _metadata(session, tenant.tenant_id, invoice_id) == {"tag": "vip"}


def test_rolled_back_transaction_drops_its_jobs(in_process, session, tenant):
    invoice_id = _invoice(session, tenant.tenant_id)
    with tenant_scope(tenant.tenant_id):
        session.get_one(Invoice, invoice_id).number = "INV-2"
        jobs.enqueue(session, TAG, tenant.tenant_id, invoice_id)
        session.rollback()
        session.commit()
    assert _metadata(session, tenant.tenant_id, invoice_id) == {}


def test_running_twice_changes_nothing_more(in_process, session, tenant):
    invoice_id = _invoice(session, tenant.tenant_id)
    for _ in range(2):
        jobs.dispatch(jobs.PendingJob(TAG, (tenant.tenant_id, invoice_id), "default", None))
    assert _metadata(session, tenant.tenant_id, invoice_id) == {"tag": "chased"}
    with tenant_scope(tenant.tenant_id):
        updates = session.scalars(select(Event).where(Event.type == "invoice.updated")).all()
        assert [e.data["object"]["id"] for e in updates] == [invoice_id]


def test_job_cannot_touch_another_tenants_invoice(
    in_process, session, tenant, other_tenant, caplog
):
    theirs_id = _invoice(session, other_tenant.tenant_id)
    with caplog.at_level(logging.WARNING), tenant_scope(tenant.tenant_id):
        jobs.enqueue(session, TAG, tenant.tenant_id, theirs_id)
        session.commit()  # the failure is the job's, never the committer's
    assert _metadata(session, other_tenant.tenant_id, theirs_id) == {}
    failures = [r for r in caplog.records if r.getMessage() == "in-process job failed"]
    assert [r.error for r in failures] == ["NotFound"]
    assert any(r.getMessage() == "cross-tenant access refused" for r in caplog.records)


def test_failing_job_rolls_back_what_it_wrote(in_process, session, tenant, caplog):
    invoice_id = _invoice(session, tenant.tenant_id)
    with caplog.at_level(logging.ERROR):
        jobs.dispatch(
            jobs.PendingJob(
                "tests.tasks.jobs.tag_then_fail", (tenant.tenant_id, invoice_id), "default", None
            )
        )
    assert _metadata(session, tenant.tenant_id, invoice_id) == {}
    assert [r.error for r in caplog.records if r.name == "payymo.background"] == ["RuntimeError"]


def test_tenant_job_refuses_a_missing_or_malformed_tenant(session):
    with pytest.raises(ValueError, match="tenant id"):
        tag_invoice("inv_not_a_tenant", "inv_x")
    with pytest.raises(NotFound, match="No such tenant"):
        tag_invoice("ten_01ARZ3NDEKTSV4RRFFQ69G5FAV", "inv_x")


def _idempotency_record(session, key: str, expires_at: dt.datetime) -> str:
    record = IdempotencyRecord(
        key=key,
        request_hash="0" * 64,
        method="POST",
        path="/api/v1/invoices",
        response_status=201,
        response_body="{}",
        expires_at=expires_at,
    )
    session.add(record)
    session.flush()
    return record.id


def test_purge_deletes_only_expired_records(in_process, session, tenant, other_tenant):
    now = utcnow()
    with tenant_scope(tenant.tenant_id):
        expired = _idempotency_record(session, "old", now - dt.timedelta(minutes=1))
        live = _idempotency_record(session, "new", now + dt.timedelta(hours=23))
        session.commit()
    with tenant_scope(other_tenant.tenant_id):
        theirs = _idempotency_record(session, "old", now - dt.timedelta(hours=2))
        jobs.enqueue(session, "tasks.maintenance.purge_idempotency_records")
        session.commit()
    session.expire_all()
    with system_scope():
        left = set(session.scalars(select(IdempotencyRecord.id)))
    assert live in left
    assert expired not in left
    assert theirs not in left
