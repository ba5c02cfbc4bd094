"""Offboarding a partner's tenant: access ends at once, the data after the retention period."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from payymo.models import BankConnection, Invoice, Tenant, TenantOffboarding
from payymo.services.partners import offboarding
from payymo.tenancy import system_scope, tenant_scope
from tests.banking import connect
from tests.helpers import ApiClient, invoice_body


def _provision(partner, name: str) -> dict:
    response = partner.api.post("partner/tenants", json={"name": name, "currency": "EUR"})
    assert response.status_code == 201, response.json
    return response.json


def test_offboarding_ends_access_withdraws_consents_and_purges_after_retention(
    make_partner, app, session
):
    partner = make_partner("Ledgerly")
    made = _provision(partner, "Leaving Ltd")
    tenant_id = made["tenant"]["id"]
    own = ApiClient(app.test_client(), made["api_key"])
    acting = partner.as_tenant(tenant_id)
    assert acting.post("invoices", json=invoice_body("L-1")).status_code == 201
    connection, _back = connect(acting, app)
    assert acting.get(f"bank_connections/{connection['id']}").json["status"] == "linked"

    gone = partner.api.delete(f"partner/tenants/{tenant_id}")
    assert gone.status_code == 200, gone.json
    body = gone.json
    assert (body["object"], body["tenant_id"], body["status"]) == (
        "tenant_offboarding",
        tenant_id,
        "offboarded",
    )
    purge_after = dt.datetime.fromisoformat(body["purge_after"])
    offboarded_at = dt.datetime.fromisoformat(body["offboarded_at"])
    assert purge_after - offboarded_at == dt.timedelta(days=30)
    assert body["purged_at"] is None and body["unrevoked_connections"] == []

    assert own.get("invoices").status_code == 401  # its keys are revoked
    refused = acting.get("invoices")
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "tenant_offboarded")
    with tenant_scope(tenant_id):
        [status] = session.scalars(select(BankConnection.status)).all()
    assert status == "revoked"
    assert partner.api.delete(f"partner/tenants/{tenant_id}").json == body  # idempotent
    listed = partner.api.get(f"partner/tenants/{tenant_id}").json
    assert listed["status"] == "offboarded"
    patched = partner.api.patch(f"partner/tenants/{tenant_id}", json={"status": "active"})
    assert patched.status_code == 409

    # Kept until the retention ends; then deleted, with a record that it was.
    early = purge_after - dt.timedelta(seconds=1)
    assert offboarding.due_for_purge(session=session, now=early) == []
    with tenant_scope(tenant_id):
        assert session.scalar(select(func.count(Invoice.id))) == 1
    [record_id] = offboarding.due_for_purge(session=session, now=purge_after)
    assert offboarding.purge(session=session, record_id=record_id, now=purge_after)
    assert not offboarding.purge(session=session, record_id=record_id, now=purge_after)
    with system_scope():
        assert session.get(Tenant, tenant_id) is None
        with tenant_scope(tenant_id):
            assert session.scalar(select(func.count(Invoice.id))) == 0
            assert session.scalar(select(func.count(BankConnection.id))) == 0
        record = session.scalars(
            select(TenantOffboarding).where(TenantOffboarding.tenant_id == tenant_id)
        ).one()
    assert record.purged_at == purge_after and record.counts["invoices"] == 1
    assert partner.api.get(f"partner/tenants/{tenant_id}").status_code == 404


def test_another_partner_cannot_offboard_a_tenant(make_partner):
    alpha, beta = make_partner("Alpha"), make_partner("Beta")
    tenant_id = _provision(alpha, "Kept Ltd")["tenant"]["id"]
    assert beta.api.delete(f"partner/tenants/{tenant_id}").status_code == 404
    assert alpha.api.get(f"partner/tenants/{tenant_id}").json["status"] == "active"
