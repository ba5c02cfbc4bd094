"""The partner API's writes: retried safely with Idempotency-Key, and audited."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from payymo import db
from payymo.models import AuditLog, Partner, PartnerAuditLog, Tenant
from payymo.services.partners.accounts import create_partner
from payymo.tenancy import system_scope, tenant_scope
from tests.helpers import ApiClient

TENANT = {"name": "Twice Ltd", "currency": "EUR"}


def _tenant_count(session, partner_id: str) -> int:
    return len(session.scalars(select(Tenant.id).where(Tenant.partner_id == partner_id)).all())


def test_a_retried_provisioning_makes_one_tenant_and_replays_its_key(make_partner, session):
    partner = make_partner("Ledgerly")
    first = partner.api.post("partner/tenants", json=TENANT, headers={"Idempotency-Key": "p-1"})
    again = partner.api.post("partner/tenants", json=TENANT, headers={"Idempotency-Key": "p-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json  # the first key's secret too: it was shown once, to this call
    assert _tenant_count(session, partner.partner_id) == 1
    other = partner.api.post(
        "partner/tenants", json={**TENANT, "name": "Other"}, headers={"Idempotency-Key": "p-1"}
    )
    assert (other.status_code, other.json["error"]["code"]) == (409, "idempotency_key_reused")
    assert _tenant_count(session, partner.partner_id) == 1


def test_keys_are_the_partners_own_not_its_tenants_or_another_partners(make_partner, session):
    alpha, beta = make_partner("Alpha"), make_partner("Beta")
    made = alpha.api.post("partner/tenants", json=TENANT, headers={"Idempotency-Key": "same"})
    theirs = beta.api.post("partner/tenants", json=TENANT, headers={"Idempotency-Key": "same"})
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json["tenant"]["id"] != made.json["tenant"]["id"]
    acting = alpha.as_tenant(made.json["tenant"]["id"])
    invoice = {"external_id": "E-1", "amount_due": 100, "currency": "EUR"}
    as_tenant = acting.post("invoices", json=invoice, headers={"Idempotency-Key": "same"})
    assert as_tenant.status_code == 201 and "Idempotent-Replayed" not in as_tenant.headers
    assert (_tenant_count(session, alpha.partner_id), _tenant_count(session, beta.partner_id)) == (
        1,
        1,
    )


def test_a_failed_call_leaves_the_key_free_for_a_retry(partner_api, session):
    bad = partner_api.post(
        "partner/tenants", json={"name": "X", "currency": "XXX"}, headers={"Idempotency-Key": "k"}
    )
    assert bad.status_code == 400
    good = partner_api.post("partner/tenants", json=TENANT, headers={"Idempotency-Key": "k"})
    assert good.status_code == 201 and "Idempotent-Replayed" not in good.headers


def test_partner_writes_are_audited_naming_key_tenant_and_outcome(make_partner, session):
    partner = make_partner("Ledgerly")
    made = partner.api.post("partner/tenants", json=TENANT).json["tenant"]["id"]
    partner.api.patch(f"partner/tenants/{made}", json={"status": "suspended"})
    partner.api.request(
        "PUT", "partner/branding", json={"name": "L", "logo_url": "http://insecure/x.png"}
    )
    partner.api.get("partner/tenants")  # reads are not audited
    with system_scope():
        rows = session.scalars(
            select(PartnerAuditLog)
            .where(PartnerAuditLog.partner_id == partner.partner_id)
            .order_by(PartnerAuditLog.id)
        ).all()
    key_id = rows[0].actor
    assert key_id.startswith("pkey_") and {r.actor for r in rows} == {key_id}
    assert [(r.action, r.status_code, r.tenant_id, r.resource_id, r.error_code) for r in rows] == [
        ("POST /api/v1/partner/tenants", 201, made, made, None),
        ("PATCH /api/v1/partner/tenants/{tenant_id}", 200, made, made, None),
        ("PUT /api/v1/partner/branding", 400, None, None, "parameter_invalid"),
    ]
    assert all(r.request_id for r in rows)
    # The tenant's own log holds what was done acting for it, not the partner's calls.
    with tenant_scope(made):
        assert session.scalars(select(AuditLog)).all() == []


@pytest.fixture
def committed_partner(app):
    """A partner and key committed on the real engine; deleted (with its tenants) after."""
    engine = db.engine()
    db.session.remove()
    # The test client's requests must use the real engine, not a test connection.
    db.session_factory.configure(bind=engine, join_transaction_mode="conditional_savepoint")
    with Session(engine) as session:
        partner, secret = create_partner(session=session, name="Race Partner")
        session.commit()
        partner_id = partner.id
    try:
        yield partner_id, secret
    finally:
        db.session.remove()
        with Session(engine) as session:
            session.execute(delete(Tenant).where(Tenant.partner_id == partner_id))
            session.execute(delete(Partner).where(Partner.id == partner_id))
            session.commit()


@pytest.mark.postgres
def test_two_concurrent_provisionings_with_one_key_make_one_tenant(app, committed_partner, request):
    # The savepoint fixture would put both threads on one connection: no real race.
    assert "connection" not in request.fixturenames
    partner_id, secret = committed_partner
    barrier = threading.Barrier(2)
    responses: list = [None, None]

    def send(slot: int) -> None:
        client = ApiClient(app.test_client(), secret)
        barrier.wait(timeout=10)
        responses[slot] = client.post(
            "partner/tenants", json=TENANT, headers={"Idempotency-Key": "race"}
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [r.status_code for r in responses] == [201, 201], [r.json for r in responses]
    assert responses[0].json == responses[1].json
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    with Session(db.engine()) as session:
        assert _tenant_count(session, partner_id) == 1
