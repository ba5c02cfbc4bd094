"""API keys API: create (secret once), list, retrieve, revoke, roll."""

from __future__ import annotations

import datetime as dt

import pytest

from payymo.db import utcnow
from payymo.models import ApiKey
from payymo.tenancy import tenant_scope
from tests.helpers import ApiClient

LISTED_FIELDS = {
    "object",
    "id",
    "name",
    "mode",
    "prefix",
    "scopes",
    "status",
    "created_at",
    "last_used_at",
    "expires_at",
    "revoked_at",
    "rolled_to",
}


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _create(api, **body):
    body.setdefault("scopes", ["invoices:read"])
    response = api.post("api_keys", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_create_returns_secret_once(app, api):
    created = _create(api, name="CRM sync", scopes=["invoices:read", "invoices:write"])
    assert set(created) == LISTED_FIELDS | {"secret"}
    assert created["object"] == "api_key"
    assert created["id"].startswith("key_")
    assert created["status"] == "active"
    assert created["scopes"] == ["invoices:read", "invoices:write"]
    assert created["mode"] == "live"
    assert created["secret"].startswith(created["prefix"])
    fetched = api.get(f"api_keys/{created['id']}").json
    assert set(fetched) == LISTED_FIELDS
    assert fetched["prefix"] == created["prefix"]
    client = ApiClient(app.test_client(), created["secret"])
    assert client.get("invoices").status_code == 200
    assert client.post("invoices", json={}).status_code == 400


def test_test_mode_key_has_test_prefix(api):
    created = _create(api, mode="test")
    assert created["mode"] == "test"
    assert created["secret"].startswith("pym_test_")
    assert created["prefix"].startswith("pym_test_")


def test_secrets_have_at_least_32_random_bytes(api):
    secrets_ = {_create(api)["secret"] for _ in range(3)}
    assert len(secrets_) == 3
    for secret in secrets_:
        body = secret.removeprefix("pym_live_")
        # 32 bytes in URL-safe base64 is 43 characters.
        assert len(body) >= 43


def test_list_is_newest_first_with_prefix_only(api, tenant):
    first = _create(api, name="one")
    second = _create(api, name="two")
    listed = api.get("api_keys")
    assert listed.status_code == 200
    ids = [k["id"] for k in listed.json["data"]]
    assert ids == [second["id"], first["id"], tenant.key_id]
    for item in listed.json["data"]:
        assert set(item) == LISTED_FIELDS
    page = api.get("api_keys", query_string={"limit": 2}).json
    assert page["has_more"] is True
    assert [k["id"] for k in page["data"]] == ids[:2]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"scopes": ["invoices:delete"]}, "scopes[0]"),
        ({"scopes": []}, "scopes"),
        ({"name": "no scopes"}, "scopes"),
        ({"scopes": ["admin"], "mode": "prod"}, "mode"),
        ({"scopes": ["admin"], "name": "n" * 101}, "name"),
        ({"scopes": ["admin"], "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
        ({"scopes": ["admin"], "expires_at": "2099-01-01T00:00:00"}, "expires_at"),
        ({"scopes": ["admin"], "key_hash": "0" * 64}, "key_hash"),
        ({"scopes": ["admin"], "secret": "pym_live_mine"}, "secret"),
    ],
)
def test_create_validation(api, body, param):
    response = api.post("api_keys", json=body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["type"] == "invalid_request_error"
    assert response.json["error"]["param"] == param


def test_create_with_expiry(app, api):
    expires = (utcnow() + dt.timedelta(days=30)).replace(microsecond=0)
    created = _create(api, expires_at=expires.isoformat())
    assert _parse(created["expires_at"]) == expires
    assert ApiClient(app.test_client(), created["secret"]).get("invoices").status_code == 200


def test_revoke_then_401(app, api):
    created = _create(api)
    client = ApiClient(app.test_client(), created["secret"])
    assert client.get("invoices").status_code == 200
    revoked = api.delete(f"api_keys/{created['id']}")
    assert revoked.status_code == 200
    assert revoked.json["status"] == "revoked"
    assert revoked.json["revoked_at"] is not None
    response = client.get("invoices")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_api_key"
    # Revoking twice keeps the first revocation time.
    again = api.delete(f"api_keys/{created['id']}")
    assert again.status_code == 200
    assert again.json["revoked_at"] == revoked.json["revoked_at"]


def test_other_tenants_key_is_404(api, other_api, other_tenant):
    for response in (
        api.get(f"api_keys/{other_tenant.key_id}"),
        api.delete(f"api_keys/{other_tenant.key_id}"),
        api.post(f"api_keys/{other_tenant.key_id}/roll", json={}),
    ):
        assert response.status_code == 404
        assert response.json["error"]["type"] == "not_found"
    assert other_tenant.key_id not in [k["id"] for k in api.get("api_keys").json["data"]]
    # The other tenant's key is untouched.
    assert other_api.get("invoices").status_code == 200


def test_roll_keeps_old_key_for_default_24_hours(app, api):
    old = _create(api, name="rolling", scopes=["invoices:read", "events:read"])
    before = utcnow()
    rolled = api.post(f"api_keys/{old['id']}/roll")
    assert rolled.status_code == 201, rolled.json
    new = rolled.json
    assert new["id"] != old["id"]
    assert new["secret"] != old["secret"]
    assert new["scopes"] == old["scopes"]
    assert new["name"] == "rolling"
    old_client = ApiClient(app.test_client(), old["secret"])
    new_client = ApiClient(app.test_client(), new["secret"])
    assert old_client.get("invoices").status_code == 200
    assert new_client.get("invoices").status_code == 200
    old_after = api.get(f"api_keys/{old['id']}").json
    assert old_after["rolled_to"] == new["id"]
    expiry = _parse(old_after["expires_at"])
    assert before + dt.timedelta(hours=24) <= expiry <= utcnow() + dt.timedelta(hours=24)
    assert expiry <= utcnow() + dt.timedelta(days=7)


def test_roll_with_maximum_grace_is_seven_days(api):
    old = _create(api)
    rolled = api.post(f"api_keys/{old['id']}/roll", json={"expires_in_hours": 168})
    assert rolled.status_code == 201
    expiry = _parse(api.get(f"api_keys/{old['id']}").json["expires_at"])
    assert utcnow() + dt.timedelta(days=7) - dt.timedelta(minutes=1) < expiry
    assert expiry <= utcnow() + dt.timedelta(days=7)


def test_roll_never_extends_an_earlier_expiry(api):
    soon = (utcnow() + dt.timedelta(hours=1)).replace(microsecond=0)
    old = _create(api, expires_at=soon.isoformat())
    assert api.post(f"api_keys/{old['id']}/roll", json={"expires_in_hours": 48}).status_code == 201
    assert _parse(api.get(f"api_keys/{old['id']}").json["expires_at"]) == soon


def test_roll_with_zero_hours_retires_old_key_now(app, api):
    old = _create(api)
    rolled = api.post(f"api_keys/{old['id']}/roll", json={"expires_in_hours": 0})
    assert rolled.status_code == 201
    assert ApiClient(app.test_client(), old["secret"]).get("invoices").status_code == 401
    assert ApiClient(app.test_client(), rolled.json["secret"]).get("invoices").status_code == 200


@pytest.mark.parametrize("hours", [200, 169, -1, 1.5, "24", True])
def test_roll_rejects_bad_expires_in_hours(api, hours):
    old = _create(api)
    response = api.post(f"api_keys/{old['id']}/roll", json={"expires_in_hours": hours})
    assert response.status_code == 400
    assert response.json["error"]["param"] == "expires_in_hours"
    # Nothing was issued and the old key was left alone.
    newest = api.get("api_keys").json["data"][0]
    assert newest["id"] == old["id"]
    assert newest["expires_at"] is None
    assert newest["rolled_to"] is None


def test_roll_own_key_keeps_caller_working(app, api, tenant):
    rolled = api.post(f"api_keys/{tenant.key_id}/roll", json={"expires_in_hours": 1})
    assert rolled.status_code == 201
    assert api.get("api_keys").status_code == 200
    assert ApiClient(app.test_client(), rolled.json["secret"]).get("api_keys").status_code == 200


def test_a_rolled_key_cannot_be_rolled_again(api):
    old = _create(api, name="twice")
    first = api.post(f"api_keys/{old['id']}/roll", json={})
    assert first.status_code == 201
    again = api.post(f"api_keys/{old['id']}/roll", json={})
    assert again.status_code == 409, again.json
    assert again.json["error"]["code"] == "api_key_rolled"
    assert first.json["id"] in again.json["error"]["message"]


def test_revoked_key_cannot_be_rolled(api):
    old = _create(api)
    api.delete(f"api_keys/{old['id']}")
    response = api.post(f"api_keys/{old['id']}/roll", json={})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "api_key_revoked"


def test_expired_key_cannot_be_rolled(api, tenant, session):
    old = _create(api)
    with tenant_scope(tenant.tenant_id):
        session.get_one(ApiKey, old["id"]).expires_at = utcnow() - dt.timedelta(seconds=1)
        session.commit()
    assert api.get(f"api_keys/{old['id']}").json["status"] == "expired"
    response = api.post(f"api_keys/{old['id']}/roll", json={})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "api_key_expired"
