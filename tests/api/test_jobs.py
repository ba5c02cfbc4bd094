"""GET /jobs: the tenant's jobs, newest first, filtered by type and status."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect

from payymo import db
from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import Job
from payymo.tenancy import tenant_scope
from tests.helpers import ApiClient


def _jobs(session, tenant_id: str, *statuses: str) -> list[str]:
    """Jobs written as the API and workers leave them, oldest first; their ids."""
    ids = []
    with tenant_scope(tenant_id):
        for status in statuses:
            job = Job(id=new_id("job"), type="reconcile", status=status, created_at=utcnow())
            session.add(job)
            ids.append(job.id)
        session.commit()
    return ids


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    assert response.json["object"] == "list"
    return [item["id"] for item in response.json["data"]]


def test_lists_jobs_newest_first_with_their_state(api, tenant, session):
    ids = _jobs(session, tenant.tenant_id, "succeeded", "failed", "running", "queued")
    response = api.get("jobs")
    assert _ids(response) == ids[::-1]
    assert response.json["has_more"] is False
    newest = response.json["data"][0]
    assert newest["object"] == "job"
    assert newest["status"] == "queued"
    assert newest["type"] == "reconcile"
    assert newest == api.get(f"jobs/{ids[-1]}").json


def test_a_run_requested_through_the_api_is_listed(api):
    job = api.post("reconciliation/run")
    assert job.status_code == 202, job.json
    assert job.json["id"] in _ids(api.get("jobs"))


def test_pages_with_limit_and_cursors(api, tenant, session):
    ids = _jobs(session, tenant.tenant_id, *["succeeded"] * 5)[::-1]
    first = api.get("jobs?limit=2")
    assert _ids(first) == ids[:2]
    assert first.json["has_more"] is True
    cursor = first.json["next_cursor"]
    assert _ids(api.get(f"jobs?limit=2&starting_after={cursor}")) == ids[2:4]
    assert _ids(api.get(f"jobs?limit=2&ending_before={ids[4]}")) == ids[2:4]
    last = api.get(f"jobs?limit=2&starting_after={ids[3]}")
    assert _ids(last) == ids[4:]
    assert last.json["has_more"] is False


def test_filters_by_status_and_type(api, tenant, session):
    succeeded, failed, _queued, failed_too = _jobs(
        session, tenant.tenant_id, "succeeded", "failed", "queued", "failed"
    )
    assert _ids(api.get("jobs?status=failed")) == [failed_too, failed]
    assert _ids(api.get("jobs?status=succeeded&type=reconcile")) == [succeeded]
    assert len(_ids(api.get("jobs?type=reconcile"))) == 4


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("status=done", "status"),
        ("status=Failed", "status"),
        ("type=sync", "type"),
        ("limit=101", "limit"),
        ("starting_after=job_nope", "starting_after"),
        ("colour=red", "colour"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(api, query, param):
    response = api.get(f"jobs?{query}")
    assert response.status_code == 400, response.json
    assert response.json["error"]["param"] == param


def test_another_tenants_jobs_never_show(api, tenant, other_api, other_tenant, session):
    mine = _jobs(session, tenant.tenant_id, "succeeded", "queued")
    theirs = _jobs(session, other_tenant.tenant_id, "failed", "succeeded", "queued")
    assert _ids(api.get("jobs")) == mine[::-1]
    assert _ids(other_api.get("jobs?limit=100")) == theirs[::-1]
    assert _ids(other_api.get("jobs?status=succeeded")) == [theirs[1]]
    # A cursor from another tenant is no cursor here: nothing about its job leaks.
    response = other_api.get(f"jobs?starting_after={mine[0]}")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_cursor"


def test_listing_needs_the_reconciliation_read_scope(app, make_tenant):
    reader = make_tenant("Reader", scopes=["reconciliation:read"])
    assert ApiClient(app.test_client(), reader.secret).get("jobs").status_code == 200
    outsider = make_tenant("Invoices only", scopes=["invoices:read"])
    response = ApiClient(app.test_client(), outsider.secret).get("jobs")
    assert response.status_code == 403
    assert "reconciliation:read" in response.json["error"]["message"]


def test_an_index_serves_the_newest_first_order_per_tenant(connection):
    indexes = inspect(db.engine()).get_indexes("jobs")
    assert any(ix["column_names"][:2] == ["tenant_id", "id"] for ix in indexes), indexes
