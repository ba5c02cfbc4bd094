"""A suspended tenant's jobs do nothing, say so, and leave no Job row queued or running."""

from __future__ import annotations

import logging

from sqlalchemy import select

from payymo.models import Invoice, Job, Match, Tenant
from payymo.services import jobs as job_service
from payymo.tenancy import tenant_scope
from tasks.reconcile import reconcile_tenant
from tests.reconcile_world import account, add, credit_row, invoice_row
from tests.tasks.jobs import tag_invoice

SKIPPED = {"skipped": "tenant_suspended"}


def _matchable(session, tenant_id: str) -> str:
    """An invoice and a credit that plainly pays it; returns the invoice id."""
    acc = account(session, tenant_id)
    [invoice_id] = add(session, tenant_id, invoice_row("INV-7", 5_000, "Initech BV"))
    add(session, tenant_id, credit_row(acc, 5_000, "INV-7", "Initech BV"))
    return invoice_id


def _state(session, tenant_id: str, job_id: str) -> tuple[Job, int]:
    session.expire_all()
    with tenant_scope(tenant_id):
        return session.get_one(Job, job_id), len(session.scalars(select(Match.id)).all())


def test_a_suspended_tenants_reconcile_job_does_nothing_and_closes_its_row(
    in_process, session, tenant
):
    _matchable(session, tenant.tenant_id)
    with tenant_scope(tenant.tenant_id):
        job_id = job_service.request_reconcile(session=session, reason="test").id
        # Suspended before its job ran (the commit below runs it in-process at once).
        session.get_one(Tenant, tenant.tenant_id).status = "suspended"
        session.commit()
    row, matches = _state(session, tenant.tenant_id, job_id)
    assert (row.status, row.error) == ("failed", job_service.SUSPENDED)
    assert row.next_attempt_at is None  # not retried
    assert matches == 0


def test_a_suspended_tenants_jobs_say_so_in_the_result_and_the_log(
    in_process, session, tenant, caplog
):
    invoice_id = _matchable(session, tenant.tenant_id)
    with tenant_scope(tenant.tenant_id):
        job = Job(type="reconcile", status="queued")
        session.add(job)
        session.get_one(Tenant, tenant.tenant_id).status = "suspended"
        session.commit()
    with caplog.at_level(logging.WARNING):
        assert reconcile_tenant(tenant.tenant_id, job.id) == SKIPPED
        assert tag_invoice(tenant.tenant_id, invoice_id) == SKIPPED
    skipped = [r for r in caplog.records if r.getMessage() == "job skipped: tenant suspended"]
    assert [(r.tenant_id, r.job_id) for r in skipped] == [
        (tenant.tenant_id, job.id),
        (tenant.tenant_id, None),
    ]
    row, matches = _state(session, tenant.tenant_id, job.id)
    assert (row.status, row.error, matches) == ("failed", job_service.SUSPENDED, 0)
    with tenant_scope(tenant.tenant_id):
        assert session.get_one(Invoice, invoice_id).metadata_ == {}


def test_a_suspended_tenants_finished_job_stays_succeeded(in_process, session, tenant):
    _matchable(session, tenant.tenant_id)
    with tenant_scope(tenant.tenant_id):
        job_id = job_service.request_reconcile(session=session, reason="test").id
        session.commit()  # runs and succeeds
        session.get_one(Tenant, tenant.tenant_id).status = "suspended"
        session.commit()
    assert reconcile_tenant(tenant.tenant_id, job_id) == SKIPPED  # a late second delivery
    row, matches = _state(session, tenant.tenant_id, job_id)
    assert (row.status, row.error, matches) == ("succeeded", None, 1)
