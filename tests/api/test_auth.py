"""Authentication and authorization: key headers, key states, tenant status, scopes."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from payymo.auth import SCOPES, generate_key
from payymo.db import utcnow
from payymo.models import ApiKey, Tenant
from payymo.tenancy import system_scope, tenant_scope
from tests.helpers import ApiClient, invoice_body


def _key(session, tenant_id: str, key_id: str) -> ApiKey:
    with tenant_scope(tenant_id):
        return session.get_one(ApiKey, key_id, populate_existing=True)


def _assert_auth_error(response, code: str) -> None:
    assert response.status_code == 401, response.json
    error = response.json["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-Id"]


def test_x_api_key_header_authenticates(app, tenant):
    response = app.test_client().get("/api/v1/tenant", headers={"X-API-Key": tenant.secret})
    assert response.status_code == 200
    assert response.json["id"] == tenant.tenant_id


def test_bearer_token_authenticates(app, tenant):
    response = app.test_client().get(
        "/api/v1/tenant", headers={"Authorization": f"Bearer {tenant.secret}"}
    )
    assert response.status_code == 200
    assert response.json["id"] == tenant.tenant_id


def test_missing_key_is_401_missing_api_key(app, tenant):
    response = app.test_client().get("/api/v1/invoices")
    _assert_auth_error(response, "missing_api_key")


def test_other_authorization_scheme_counts_as_missing(app, tenant):
    response = app.test_client().get(
        "/api/v1/invoices", headers={"Authorization": f"Basic {tenant.secret}"}
    )
    _assert_auth_error(response, "missing_api_key")


@pytest.mark.parametrize("secret", ["well-formed", "pym_live_nope", "x" * 300])
def test_unknown_key_is_401(app, tenant, secret):
    if secret == "well-formed":
        secret = generate_key("live").secret
    response = ApiClient(app.test_client(), secret).get("invoices")
    _assert_auth_error(response, "invalid_api_key")
    assert secret not in response.get_data(as_text=True)


def test_revoked_key_is_401(api, tenant):
    assert api.get("invoices").status_code == 200
    revoked = api.delete(f"api_keys/{tenant.key_id}")
    assert revoked.status_code == 200
    _assert_auth_error(api.get("invoices"), "invalid_api_key")


def test_expired_key_is_401(api, tenant, session):
    key = _key(session, tenant.tenant_id, tenant.key_id)
    with tenant_scope(tenant.tenant_id):
        key.expires_at = utcnow() - dt.timedelta(seconds=1)
        session.commit()
    _assert_auth_error(api.get("invoices"), "invalid_api_key")


def test_unknown_revoked_and_expired_keys_answer_alike(app, api, tenant, session):
    # No oracle: a caller cannot tell a key that never existed from a dead one.
    unknown = app.test_client().get("/api/v1/invoices", headers={"X-API-Key": "pym_live_nope"})
    key = _key(session, tenant.tenant_id, tenant.key_id)
    with tenant_scope(tenant.tenant_id):
        key.expires_at = utcnow() - dt.timedelta(seconds=1)
        session.commit()
    expired = api.get("invoices")
    assert api.delete(f"api_keys/{tenant.key_id}").status_code == 401
    with tenant_scope(tenant.tenant_id):
        key.expires_at, key.revoked_at = None, utcnow()
        session.commit()
    revoked = api.get("invoices")

    def shown(response):
        error = dict(response.json["error"])
        error.pop("request_id")
        return response.status_code, error

    assert shown(unknown) == shown(expired) == shown(revoked)
    assert shown(unknown) == (
        401,
        {
            "type": "authentication_error",
            "code": "invalid_api_key",
            "message": "Invalid API key provided.",
            "param": None,
        },
    )


def test_key_with_future_expiry_still_works(api, tenant, session):
    key = _key(session, tenant.tenant_id, tenant.key_id)
    with tenant_scope(tenant.tenant_id):
        key.expires_at = utcnow() + dt.timedelta(minutes=5)
        session.commit()
    assert api.get("invoices").status_code == 200


def test_suspended_tenant_is_403(api, tenant, session):
    with system_scope():
        session.get_one(Tenant, tenant.tenant_id).status = "suspended"
        session.commit()
    response = api.get("invoices")
    assert response.status_code == 403
    assert response.json["error"]["type"] == "authorization_error"
    assert response.json["error"]["code"] == "tenant_suspended"


def test_suspension_does_not_affect_other_tenants(api, other_api, tenant, session):
    with system_scope():
        session.get_one(Tenant, tenant.tenant_id).status = "suspended"
        session.commit()
    assert api.get("invoices").status_code == 403
    assert other_api.get("invoices").status_code == 200


@pytest.fixture
def reader(app, make_tenant) -> ApiClient:
    handle = make_tenant("Read Only Ltd", scopes=["invoices:read"])
    return ApiClient(app.test_client(), handle.secret)


def _assert_forbidden(response, scope: str) -> None:
    assert response.status_code == 403, response.json
    error = response.json["error"]
    assert error["type"] == "authorization_error"
    assert error["code"] == "missing_scope"
    assert scope in error["message"]


def test_read_scope_may_read_but_not_write(reader):
    assert reader.get("invoices").status_code == 200
    _assert_forbidden(reader.post("invoices", json=invoice_body()), "invoices:write")
    # Nothing was created by the refused request.
    assert reader.get("invoices").json["data"] == []


def test_invoice_scope_does_not_open_transactions(reader):
    _assert_forbidden(reader.get("transactions"), "transactions:read")


def test_scope_of_one_resource_does_not_open_another(reader):
    _assert_forbidden(reader.get("events"), "events:read")
    _assert_forbidden(reader.get("tenant"), "tenant:read")
    _assert_forbidden(reader.patch("tenant", json={"name": "X"}), "tenant:write")


def test_only_admin_manages_keys(app, make_tenant):
    every_other = [s for s in SCOPES if s != "admin"]
    handle = make_tenant("Almost Admin", scopes=every_other)
    client = ApiClient(app.test_client(), handle.secret)
    _assert_forbidden(client.get("api_keys"), "admin")
    _assert_forbidden(client.post("api_keys", json={"scopes": ["admin"]}), "admin")
    _assert_forbidden(client.post(f"api_keys/{handle.key_id}/roll", json={}), "admin")


def test_admin_can_do_everything(api, tenant):
    created = api.post("invoices", json=invoice_body())
    assert created.status_code == 201
    assert api.get("invoices").json["data"][0]["id"] == created.json["id"]
    assert api.get("events").status_code == 200
    assert api.get("tenant").status_code == 200
    assert api.patch("tenant", json={"name": "Acme Group"}).json["name"] == "Acme Group"
    assert api.get("api_keys").status_code == 200
    new = api.post("api_keys", json={"scopes": ["invoices:read"]})
    assert new.status_code == 201
    assert api.delete(f"api_keys/{new.json['id']}").status_code == 200


def test_stored_hash_is_sha256_of_secret_and_secret_is_never_listed(api, tenant, session):
    created = api.post("api_keys", json={"name": "ci", "scopes": ["invoices:read"]})
    assert created.status_code == 201
    secret = created.json["secret"]
    assert secret.startswith("pym_live_")
    assert created.json["prefix"] == secret[: len(created.json["prefix"])]
    stored = _key(session, tenant.tenant_id, created.json["id"])
    assert stored.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored.key_hash
    for response in (api.get("api_keys"), api.get(f"api_keys/{created.json['id']}")):
        text = response.get_data(as_text=True)
        assert response.status_code == 200
        assert secret not in text
        assert stored.key_hash not in text
        assert "secret" not in text
        assert "key_hash" not in text


def test_last_used_at_set_on_first_use_and_not_rewritten_within_a_minute(api, tenant, session):
    assert _key(session, tenant.tenant_id, tenant.key_id).last_used_at is None
    before = utcnow()
    assert api.get("invoices").status_code == 200
    first = _key(session, tenant.tenant_id, tenant.key_id).last_used_at
    assert first is not None
    assert before <= first <= utcnow()
    assert api.get("invoices").status_code == 200
    assert _key(session, tenant.tenant_id, tenant.key_id).last_used_at == first


def test_last_used_at_moves_once_a_minute_has_passed(api, tenant, session):
    stale = utcnow() - dt.timedelta(minutes=2)
    key = _key(session, tenant.tenant_id, tenant.key_id)
    with tenant_scope(tenant.tenant_id):
        key.last_used_at = stale
        session.commit()
    assert api.get("invoices").status_code == 200
    assert _key(session, tenant.tenant_id, tenant.key_id).last_used_at > stale + dt.timedelta(
        minutes=1
    )


def test_failed_authentication_does_not_touch_last_used(app, api, tenant, session):
    with system_scope():
        session.get_one(Tenant, tenant.tenant_id).status = "suspended"
        session.commit()
    assert api.get("invoices").status_code == 403
    assert _key(session, tenant.tenant_id, tenant.key_id).last_used_at is None
