"""Idempotency-Key on every POST: stored 24 h per tenant, replayed, misuse is 409, one effect."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from payymo import db
from payymo.models import AuditLog, Event, IdempotencyRecord, Invoice
from payymo.tenancy import system_scope, tenant_scope
from tests.helpers import ApiClient, invoice_body


def count(model) -> int:
    with system_scope():
        return db.session.scalar(select(func.count()).select_from(model))


def idem(key: str) -> dict:
    return {"Idempotency-Key": key}


def test_a_retry_is_replayed_with_the_same_status_and_body(api):
    first = api.post("invoices", json=invoice_body(), headers=idem("create-erp-1"))
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    again = api.post("invoices", json=invoice_body(), headers=idem("create-erp-1"))
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    assert again.headers["X-Request-Id"] != first.headers["X-Request-Id"]
    assert count(Invoice) == 1
    assert count(Event) == 1


def test_a_stored_response_holding_a_secret_is_encrypted_and_replayed_whole(api, app):
    body = {"name": "CRM sync", "scopes": ["invoices:read"]}
    first = api.post("api_keys", json=body, headers=idem("mint-crm-key"))
    assert first.status_code == 201
    secret = first.json["secret"]
    with system_scope():
        stored = db.session.scalars(
            select(IdempotencyRecord.response_body).where(IdempotencyRecord.key == "mint-crm-key")
        ).one()
    # Nothing of the response can be read from the database without the key.
    assert secret not in stored and first.json["id"] not in stored
    assert not stored.lstrip().startswith("{")
    again = api.post("api_keys", json=body, headers=idem("mint-crm-key"))
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_data() == first.get_data()
    # The replayed secret is the key that was minted: it works.
    assert ApiClient(app.test_client(), again.json["secret"]).get("invoices").status_code == 200


def test_key_order_and_spacing_do_not_change_the_request(api):
    body = invoice_body()
    first = api.post("invoices", json=body, headers=idem("k-order"))
    reordered = dict(reversed(list(body.items())))
    again = api.post("invoices", json=reordered, headers=idem("k-order"))
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["id"] == first.json["id"]


def test_the_same_key_with_another_body_is_an_idempotency_error(api):
    api.post("invoices", json=invoice_body(), headers=idem("k-1"))
    other = api.post("invoices", json=invoice_body(amount_due=999), headers=idem("k-1"))
    assert other.status_code == 409
    error = other.json["error"]
    assert error["type"] == "idempotency_error"
    assert error["param"] == "Idempotency-Key"
    assert count(Invoice) == 1


def test_the_same_key_on_another_path_is_an_idempotency_error(api):
    created = api.post("invoices", json=invoice_body(), headers=idem("k-2")).json
    void = api.post(f"invoices/{created['id']}/void", headers=idem("k-2"))
    assert void.status_code == 409
    assert void.json["error"]["type"] == "idempotency_error"
    assert api.get(f"invoices/{created['id']}").json["status"] == "open"


def test_the_same_key_used_by_another_tenant_is_independent(api, other_api):
    mine = api.post("invoices", json=invoice_body(), headers=idem("shared-key"))
    theirs = other_api.post(
        "invoices", json=invoice_body(amount_due=555), headers=idem("shared-key")
    )
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert theirs.json["id"] != mine.json["id"]
    assert theirs.json["amount_due"] == 555
    # And each tenant's replay returns its own response.
    assert api.post("invoices", json=invoice_body(), headers=idem("shared-key")).json == mine.json
    assert count(Invoice) == 2


def test_a_failed_request_is_not_stored_so_a_fixed_retry_runs(api):
    bad = api.post("invoices", json=invoice_body(amount_due=1.5), headers=idem("k-fix"))
    assert bad.status_code == 400
    assert count(IdempotencyRecord) == 0
    fixed = api.post("invoices", json=invoice_body(), headers=idem("k-fix"))
    assert fixed.status_code == 201
    assert "Idempotent-Replayed" not in fixed.headers
    assert count(Invoice) == 1


def test_every_post_accepts_the_key(api):
    created = api.post("invoices", json=invoice_body()).json
    first = api.post(f"invoices/{created['id']}/void", headers=idem("void-1"))
    again = api.post(f"invoices/{created['id']}/void", headers=idem("void-1"))
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    batch = {"invoices": [invoice_body("B-1"), invoice_body("B-2")]}
    one = api.post("invoices/batch", json=batch, headers=idem("batch-1"))
    two = api.post("invoices/batch", json=batch, headers=idem("batch-1"))
    assert two.headers["Idempotent-Replayed"] == "true"
    assert two.json == one.json
    assert one.json["counts"]["created"] == 2


def test_records_live_24_hours(api, session):
    api.post("invoices", json=invoice_body(), headers=idem("k-ttl"))
    with system_scope():
        record = session.scalars(select(IdempotencyRecord)).one()
    assert record.expires_at - record.created_at == dt.timedelta(hours=24)
    assert record.response_status == 201


def test_an_expired_key_runs_again(api, session):
    first = api.post("invoices", json=invoice_body("E-1"), headers=idem("k-old"))
    with system_scope():
        session.execute(
            update(IdempotencyRecord).values(
                expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
            )
        )
        session.commit()
    second = api.post("invoices", json=invoice_body("E-2"), headers=idem("k-old"))
    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert second.json["id"] != first.json["id"]


def test_a_replay_writes_no_audit_row(api):
    api.post("invoices", json=invoice_body(), headers=idem("k-audit"))
    api.post("invoices", json=invoice_body(), headers=idem("k-audit"))
    assert count(AuditLog) == 1


@pytest.mark.parametrize("bad", ["", "x" * 256, "tab\there"])
def test_a_malformed_key_is_rejected(api, bad):
    response = api.post("invoices", json=invoice_body(), headers=idem(bad))
    assert response.status_code == 400
    assert response.json["error"]["param"] == "Idempotency-Key"
    assert count(Invoice) == 0


# --- two concurrent requests with one key: needs real commits, so no savepoint fixture ---


@pytest.mark.postgres
def test_two_concurrent_requests_with_one_key_have_one_effect(app, committed_tenant, request):
    # The savepoint fixture would put both threads on one connection: no real race.
    assert "connection" not in request.fixturenames
    tenant_id, secret = committed_tenant
    assert db.session_factory.kw["bind"] is db.engine()
    barrier = threading.Barrier(2)
    responses: list = [None, None]

    def send(slot: int) -> None:
        client = ApiClient(app.test_client(), secret)
        barrier.wait(timeout=10)
        responses[slot] = client.post(
            "invoices", json=invoice_body("RACE-1"), headers=idem("race-key")
        )

    threads = [threading.Thread(target=send, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert all(r is not None for r in responses)
    assert [r.status_code for r in responses] == [201, 201], [r.json for r in responses]
    assert responses[0].json["id"] == responses[1].json["id"]
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in responses) == ["", "true"]
    with Session(db.engine()) as session, tenant_scope(tenant_id):
        assert session.scalar(select(func.count()).select_from(Invoice)) == 1
        assert session.scalar(select(func.count()).select_from(Event)) == 1
