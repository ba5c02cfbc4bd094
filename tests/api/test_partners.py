"""Partners: keys, provisioning tenants, acting for them with X-Tenant-Id, and the walls."""

from __future__ import annotations

import logging
from types import SimpleNamespace

from sqlalchemy import select, update

from payymo import db
from payymo.models import AuditLog, Partner, PartnerKey
from payymo.models.banking import CONNECTION_STATUSES
from payymo.services.partners.accounts import issue_key
from payymo.tenancy import tenant_scope
from tests.banking import connect, sync
from tests.helpers import ApiClient, invoice_body
from tests.partners import Acting, PartnerHandle


def _provision(partner: PartnerHandle, name: str, **extra) -> dict:
    response = partner.api.post("partner/tenants", json={"name": name, "currency": "EUR", **extra})
    assert response.status_code == 201, response.json
    return response.json


def test_a_partner_provisions_a_tenant_and_its_first_key(make_partner, app):
    partner = make_partner("Ledgerly")
    made = _provision(partner, "Corner Shop Ltd", settings={"auto_match_threshold": 0.95})
    tenant = made["tenant"]
    assert (tenant["name"], tenant["default_currency"], tenant["status"]) == (
        "Corner Shop Ltd",
        "EUR",
        "active",
    )
    assert tenant["partner_id"] == partner.partner_id
    assert tenant["settings"]["auto_match_threshold"] == 0.95
    own = ApiClient(app.test_client(), made["api_key"])
    assert own.get("tenant").json["id"] == tenant["id"]  # the key shown once works


def test_a_partner_keys_use_is_recorded_whether_it_acts_for_itself_or_a_tenant(
    make_partner, session
):
    partner = make_partner("Ledgerly")

    def last_used():
        session.expire_all()
        return session.scalars(
            select(PartnerKey.last_used_at).where(PartnerKey.partner_id == partner.partner_id)
        ).one()

    assert last_used() is None
    tenant_id = _provision(partner, "Corner Shop Ltd")["tenant"]["id"]
    assert last_used() is not None  # the partner API
    session.execute(
        update(PartnerKey)
        .where(PartnerKey.partner_id == partner.partner_id)
        .values(last_used_at=None)
    )
    session.commit()
    assert partner.as_tenant(tenant_id).get("invoices").status_code == 200
    assert last_used() is not None  # acting for a tenant


def test_the_list_shows_each_tenant_with_its_usage(make_partner, app):
    partner = make_partner("Ledgerly")
    first = _provision(partner, "First Ltd")["tenant"]
    second = _provision(partner, "Second Ltd")["tenant"]
    acting = partner.as_tenant(first["id"])
    account = acting.post("bank_accounts", json={"name": "Main", "currency": "EUR"}).json
    imported = acting.post(
        "transactions/import",
        json={
            "account_id": account["id"],
            "transactions": [
                {"booking_date": "2026-11-20", "amount": 100, "currency": "EUR"},
                {"booking_date": "2026-11-21", "amount": -50, "currency": "EUR"},
            ],
        },
    )
    assert imported.status_code == 200, imported.json
    listing = partner.api.get("partner/tenants").json
    assert [t["id"] for t in listing["data"]] == [second["id"], first["id"]]
    usage = {t["id"]: t["usage"] for t in listing["data"]}
    assert usage[first["id"]]["month_transaction_count"] == 2
    assert usage[second["id"]] == {
        "month_transaction_count": 0,
        "bank_connections": dict.fromkeys(CONNECTION_STATUSES, 0),
        "last_synced_at": None,
        "auto_match_rate": None,
    }
    one = partner.api.get(f"partner/tenants/{first['id']}").json
    assert one["usage"] == usage[first["id"]]
    # A bank connected and synced through the partner's key shows in the usage.
    connection, back = connect(acting, app)
    assert back.status_code in (200, 302), back.get_data(as_text=True)
    sync(SimpleNamespace(tenant_id=first["id"]), connection["id"])
    synced = partner.api.get(f"partner/tenants/{first['id']}").json["usage"]
    assert synced["bank_connections"] == dict.fromkeys(CONNECTION_STATUSES, 0) | {"linked": 1}
    assert synced["last_synced_at"] is not None
    assert synced["month_transaction_count"] > 2


def test_acting_for_a_tenant_is_auditable_and_limited_by_the_keys_scopes(make_partner, session):
    partner = make_partner("Ledgerly")
    tenant = _provision(partner, "Corner Shop Ltd")["tenant"]
    acting = partner.as_tenant(tenant["id"])
    created = acting.post("invoices", json=invoice_body("P-1"))
    assert created.status_code == 201, created.json
    with tenant_scope(tenant["id"]):
        [row] = session.scalars(select(AuditLog).where(AuditLog.action.like("POST %"))).all()
        key_ids = set(session.scalars(select(PartnerKey.id)))
    assert row.api_key_id in key_ids  # the partner key, under the tenant
    _reader, secret = issue_key(
        session=db.session,
        partner=session.get_one(Partner, partner.partner_id),
        scopes=["partner:read"],
    )
    db.session.commit()
    read_only = Acting(ApiClient(partner.api.client, secret), tenant["id"])
    assert read_only.get("invoices").status_code == 200
    refused = read_only.post("invoices", json=invoice_body("P-2"))
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "missing_scope")
    assert (
        ApiClient(partner.api.client, secret)
        .post("partner/tenants", json={"name": "X", "currency": "EUR"})
        .status_code
        == 403
    )


def test_a_suspended_tenant_refuses_its_keys_and_the_partners_until_reactivated(make_partner, app):
    partner = make_partner("Ledgerly")
    made = _provision(partner, "Corner Shop Ltd")
    tenant_id = made["tenant"]["id"]
    own = ApiClient(app.test_client(), made["api_key"])
    suspended = partner.api.patch(f"partner/tenants/{tenant_id}", json={"status": "suspended"})
    assert (suspended.status_code, suspended.json["status"]) == (200, "suspended")
    assert own.get("invoices").status_code == 403
    refused = partner.as_tenant(tenant_id).get("invoices")
    assert (refused.status_code, refused.json["error"]["code"]) == (403, "tenant_suspended")
    partner.api.patch(f"partner/tenants/{tenant_id}", json={"status": "active"})
    assert own.get("invoices").status_code == 200
    bad = partner.api.patch(f"partner/tenants/{tenant_id}", json={"status": "gone"})
    assert bad.status_code == 400


def test_headers_in_the_wrong_hands_are_refused(make_partner, api, tenant):
    partner = make_partner("Ledgerly")
    mine = _provision(partner, "Corner Shop Ltd")["tenant"]
    # A tenant's key never names another tenant, and never calls the partner API.
    sent = api.get("invoices", headers={"X-Tenant-Id": mine["id"]})
    assert (sent.status_code, sent.json["error"]["code"]) == (400, "tenant_header_not_allowed")
    assert api.get("partner/tenants").status_code == 403
    # A partner key must name one of its tenants on tenant endpoints.
    missing = partner.api.get("invoices")
    assert (missing.status_code, missing.json["error"]["code"]) == (400, "tenant_header_required")
    direct = partner.as_tenant(tenant.tenant_id).get("invoices")  # not the partner's tenant
    assert (direct.status_code, direct.json["error"]["param"]) == (404, "X-Tenant-Id")
    unknown = partner.api.post("partner/tenants", json={"name": "X", "currency": "EUR", "x": 1})
    assert unknown.status_code == 400


def test_two_partners_never_reach_each_others_tenants(make_partner, caplog):
    caplog.set_level(logging.WARNING, logger="payymo.security")
    alpha, beta = make_partner("Alpha"), make_partner("Beta")
    alphas = [_provision(alpha, f"Alpha {n}")["tenant"]["id"] for n in (1, 2)]
    betas = [_provision(beta, f"Beta {n}")["tenant"]["id"] for n in (1, 2)]
    invoice = alpha.as_tenant(alphas[0]).post("invoices", json=invoice_body("A-1")).json
    assert {t["id"] for t in beta.api.get("partner/tenants").json["data"]} == set(betas)
    for tenant_id in alphas:
        assert beta.api.get(f"partner/tenants/{tenant_id}").status_code == 404
        patched = beta.api.patch(f"partner/tenants/{tenant_id}", json={"status": "suspended"})
        assert patched.status_code == 404
        for path in ("invoices", "tenant", f"invoices/{invoice['id']}", "transactions"):
            answer = beta.as_tenant(tenant_id).get(path)
            assert (answer.status_code, answer.json["error"]["type"]) == (404, "not_found")
    # Beta acting for its own tenant cannot read Alpha's invoice either.
    assert beta.as_tenant(betas[0]).get(f"invoices/{invoice['id']}").status_code == 404
    assert alpha.api.get(f"partner/tenants/{alphas[0]}").json["status"] == "active"
    logged = [
        r for r in caplog.records if getattr(r, "event", "") == "security.cross_partner_access"
    ]
    assert {r.resource_id for r in logged} >= set(alphas)
