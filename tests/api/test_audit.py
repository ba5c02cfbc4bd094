"""Audit log: one row per successful mutating request; none for failures or reads."""

from __future__ import annotations

from sqlalchemy import select

from payymo.models import AuditLog
from payymo.tenancy import system_scope, tenant_scope
from tests.helpers import invoice_body


def audit_rows(session, tenant_id: str | None = None) -> list[AuditLog]:
    """Audit rows as stored (all tenants, or one), detached so they stay readable."""
    session.expire_all()
    stmt = select(AuditLog).order_by(AuditLog.id)
    with tenant_scope(tenant_id) if tenant_id else system_scope():
        rows = list(session.scalars(stmt))
    session.expunge_all()
    return rows


def key_prefix(secret: str) -> str:
    return secret[: len("pym_live_") + 6]


def test_a_create_is_audited_with_actor_action_resource_and_request_id(api, tenant, session):
    response = api.post(
        "invoices", json=invoice_body(), headers={"X-Request-Id": "audit-trail-0001"}
    )
    assert response.status_code == 201
    [row] = audit_rows(session)
    assert row.tenant_id == tenant.tenant_id
    assert row.actor == key_prefix(tenant.secret)
    assert row.api_key_id == tenant.key_id
    assert row.action == "POST /api/v1/invoices"
    assert row.resource_type == "invoice"
    assert row.resource_id == response.json["id"]
    assert row.request_id == "audit-trail-0001" == response.headers["X-Request-Id"]
    assert row.status_code == 201
    assert row.created_at is not None


def test_updates_and_actions_are_audited_with_the_route(api, session):
    invoice_id = api.post("invoices", json=invoice_body()).json["id"]
    patched = api.patch(f"invoices/{invoice_id}", json={"number": "INV-2"})
    voided = api.post(f"invoices/{invoice_id}/void")
    assert patched.status_code == voided.status_code == 200
    rows = audit_rows(session)
    assert [r.action for r in rows] == [
        "POST /api/v1/invoices",
        "PATCH /api/v1/invoices/{invoice_id}",
        "POST /api/v1/invoices/{invoice_id}/void",
    ]
    assert {r.resource_id for r in rows} == {invoice_id}
    assert [r.request_id for r in rows[1:]] == [
        patched.headers["X-Request-Id"],
        voided.headers["X-Request-Id"],
    ]


def test_a_batch_is_audited_once(api, session):
    body = {"invoices": [invoice_body("B-1"), invoice_body("B-2")]}
    assert api.post("invoices/batch", json=body).status_code == 200
    [row] = audit_rows(session)
    assert row.action == "POST /api/v1/invoices/batch"
    assert row.status_code == 200


def test_reads_are_not_audited(api, session):
    invoice_id = api.post("invoices", json=invoice_body()).json["id"]
    assert api.get("invoices").status_code == 200
    assert api.get(f"invoices/{invoice_id}").status_code == 200
    assert api.get("invoices?status=open").status_code == 200
    assert len(audit_rows(session)) == 1


def test_failed_requests_are_not_audited(api, app, session):
    invoice_id = api.post("invoices", json=invoice_body()).json["id"]
    failures = [
        api.post("invoices", json=invoice_body()),  # 409 duplicate
        api.post("invoices", json=invoice_body("X", amount_due=0)),  # 400
        api.patch("invoices/inv_00000000000000000000000000", json={"number": "N"}),  # 404
        api.patch(f"invoices/{invoice_id}", json={"colour": "red"}),  # 400 unknown field
        api.delete(f"invoices/{invoice_id}"),  # 405
        app.test_client().post("/api/v1/invoices", json=invoice_body("NOKEY")),  # 401
    ]
    assert [r.status_code for r in failures] == [409, 400, 404, 400, 405, 401]
    assert [r.action for r in audit_rows(session)] == ["POST /api/v1/invoices"]


def test_audit_rows_belong_to_the_acting_tenant(api, other_api, tenant, other_tenant, session):
    api.post("invoices", json=invoice_body())
    other_api.post("invoices", json=invoice_body())
    other_api.post("invoices", json=invoice_body("OTHER-2"))
    mine = audit_rows(session, tenant.tenant_id)
    theirs = audit_rows(session, other_tenant.tenant_id)
    assert len(mine) == 1 and len(theirs) == 2
    assert {r.actor for r in mine} == {key_prefix(tenant.secret)}
    assert {r.actor for r in theirs} == {key_prefix(other_tenant.secret)}
