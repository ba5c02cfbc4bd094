"""Audit log: one row per mutating request, failed and refused ones too; none for reads."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from payymo.db import utcnow
from payymo.models import ApiKey, AuditLog, Tenant
from payymo.tenancy import system_scope, tenant_scope
from tests.api.conftest import TINY
from tests.helpers import ApiClient, invoice_body


def audit_rows(session, tenant_id: str | None = None) -> list[AuditLog]:
    """Audit rows as stored (all tenants, or one), detached so they stay readable."""
    session.expire_all()
    stmt = select(AuditLog).order_by(AuditLog.id)
    with tenant_scope(tenant_id) if tenant_id else system_scope():
        rows = list(session.scalars(stmt))
    session.expunge_all()
    return rows


def test_a_create_is_audited_with_actor_action_resource_and_request_id(api, tenant, session):
    response = api.post(
        "invoices", json=invoice_body(), headers={"X-Request-Id": "audit-trail-0001"}
    )
    assert response.status_code == 201
    [row] = audit_rows(session)
    assert row.tenant_id == tenant.tenant_id
    assert row.actor == row.api_key_id == tenant.key_id  # the key's id, not its secret's prefix
    assert row.action == "POST /api/v1/invoices"
    assert row.resource_type == "invoice"
    assert row.resource_id == response.json["id"]
    assert row.request_id == response.headers["X-Request-Id"]
    assert row.client_request_id == "audit-trail-0001"
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


def test_failed_requests_are_audited_with_why_and_nothing_else_stays(api, app, session):
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
    rows = audit_rows(session)
    # The keyless request has no tenant to be audited under (a security log line instead).
    assert [(r.status_code, r.error_code) for r in rows] == [
        (201, None),
        (409, "resource_already_exists"),
        (400, "parameter_invalid"),
        (404, "resource_missing"),
        (400, "parameter_unknown"),
        (405, "method_not_allowed"),
    ]
    assert all(r.resource_id is None for r in rows[1:])
    assert [r.request_id for r in rows[1:]] == [r.headers["X-Request-Id"] for r in failures[:5]]
    # Only the first request's invoice exists: failures changed nothing else.
    assert api.get("invoices").json["data"][0]["id"] == invoice_id
    assert len(api.get("invoices").json["data"]) == 1


def test_denied_mutations_are_audited(app, make_tenant, session):
    reader = make_tenant("Reader Ltd", scopes=["invoices:read"])
    client = ApiClient(app.test_client(), reader.secret)
    assert client.post("invoices", json=invoice_body()).status_code == 403
    [row] = audit_rows(session, reader.tenant_id)
    assert (row.actor, row.status_code, row.error_code) == (reader.key_id, 403, "missing_scope")


def test_refused_keys_are_audited_with_the_reason_the_client_does_not_see(
    app, tenant, session, caplog
):
    client = ApiClient(app.test_client(), tenant.secret)
    with tenant_scope(tenant.tenant_id):
        key = session.get(ApiKey, tenant.key_id)
        key.expires_at = utcnow() - dt.timedelta(seconds=1)
        session.commit()
    expired = client.post("invoices", json=invoice_body())
    with tenant_scope(tenant.tenant_id):
        key = session.get(ApiKey, tenant.key_id)
        key.expires_at, key.revoked_at = None, utcnow()
        session.commit()
    with caplog.at_level(logging.WARNING, logger="payymo.security"):
        revoked = client.patch("invoices/inv_00000000000000000000000000", json={"number": "N"})
    assert expired.json["error"]["code"] == revoked.json["error"]["code"] == "invalid_api_key"
    rows = audit_rows(session, tenant.tenant_id)
    assert [(r.actor, r.status_code, r.error_code) for r in rows] == [
        (tenant.key_id, 401, "api_key_expired"),
        (tenant.key_id, 401, "api_key_revoked"),
    ]
    assert rows[1].action == "PATCH /api/v1/invoices/{invoice_id}"
    refused = [r for r in caplog.records if getattr(r, "event", "") == "security.api_key_refused"]
    assert refused[-1].reason == "api_key_revoked"
    # A suspended tenant's key: 403, audited as such.
    with system_scope():
        session.get(Tenant, tenant.tenant_id).status = "suspended"
        session.get(ApiKey, tenant.key_id).revoked_at = None
        session.commit()
    assert client.post("invoices", json=invoice_body()).status_code == 403
    assert audit_rows(session, tenant.tenant_id)[-1].error_code == "tenant_suspended"


def test_rate_limited_requests_are_not_audited(app, make_tenant, tiny_plan, session):
    tiny_plan()
    tiny = make_tenant("Tiny Ltd", plan="tiny")
    client = ApiClient(app.test_client(), tiny.secret)
    statuses = [client.post("invoices", json=invoice_body(f"T-{i}")).status_code for i in range(5)]
    assert statuses == [201] * TINY + [429] * (5 - TINY)
    assert {r.status_code for r in audit_rows(session, tiny.tenant_id)} == {201}


def test_audit_rows_belong_to_the_acting_tenant(api, other_api, tenant, other_tenant, session):
    api.post("invoices", json=invoice_body())
    other_api.post("invoices", json=invoice_body())
    other_api.post("invoices", json=invoice_body("OTHER-2"))
    mine = audit_rows(session, tenant.tenant_id)
    theirs = audit_rows(session, other_tenant.tenant_id)
    assert len(mine) == 1 and len(theirs) == 2
    assert {r.actor for r in mine} == {tenant.key_id}
    assert {r.actor for r in theirs} == {other_tenant.key_id}
