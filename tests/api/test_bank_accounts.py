"""Bank accounts API: create a manual account, get, list."""

from __future__ import annotations

import pytest

from payymo.models import BankAccount
from payymo.tenancy import tenant_scope

IBAN = "DE89370400440532013000"


def account_body(**overrides) -> dict:
    body = {"name": "Main account", "currency": "EUR", "iban": "de89 3704 0044 0532 0130 00"}
    body.update(overrides)
    return body


def test_create_normalises_iban_and_get_round_trips(api):
    created = api.post("bank_accounts", json=account_body())
    assert created.status_code == 201, created.json
    body = created.json
    assert body["object"] == "bank_account"
    assert body["id"].startswith("ba_")
    assert body["kind"] == "manual"
    assert body["iban"] == IBAN
    assert body["currency"] == "EUR"
    assert body["name"] == "Main account"
    fetched = api.get(f"bank_accounts/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json == body


def test_iban_is_optional(api):
    created = api.post("bank_accounts", json={"name": "Cash book", "currency": "JPY"})
    assert created.status_code == 201, created.json
    assert created.json["iban"] is None
    assert api.post("bank_accounts", json=account_body(iban=None)).status_code == 201


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        (account_body(iban="DE89370400440532013001"), "iban", "parameter_invalid"),
        (account_body(iban="not an iban"), "iban", "parameter_invalid"),
        (account_body(iban="DE" + "1" * 60), "iban", "parameter_invalid"),
        (account_body(iban=12345), "iban", "parameter_invalid"),
        (account_body(currency="XYZ"), "currency", "parameter_invalid"),
        (account_body(currency="euro"), "currency", "parameter_invalid"),
        (account_body(name=""), "name", "parameter_invalid"),
        (account_body(name="   "), "name", "parameter_invalid"),
        (account_body(name="x" * 201), "name", "parameter_invalid"),
        (account_body(name="a\x00b"), "name", "parameter_invalid"),
        (account_body(kind="provider"), "kind", "parameter_unknown"),
        ({"currency": "EUR"}, "name", "parameter_missing"),
        ({"name": "Main"}, "currency", "parameter_missing"),
    ],
)
def test_bad_input_names_the_param_and_writes_nothing(api, session, tenant, body, param, code):
    response = api.post("bank_accounts", json=body)
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["code"] == code
    assert error["request_id"] == response.headers["X-Request-Id"]
    with tenant_scope(tenant.tenant_id):
        assert session.query(BankAccount).count() == 0


def test_malformed_json_is_rejected(api):
    response = api.post(
        "bank_accounts", data='{"name": "x",', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_list_is_newest_first_and_filters(api, session, tenant):
    first = api.post("bank_accounts", json=account_body(name="A")).json
    second = api.post("bank_accounts", json=account_body(name="B", currency="USD", iban=None)).json
    with tenant_scope(tenant.tenant_id):
        session.add(BankAccount(kind="provider", name="Synced", currency="EUR"))
        session.commit()
    listed = api.get("bank_accounts")
    assert listed.status_code == 200
    assert listed.json["object"] == "list"
    names = [a["name"] for a in listed.json["data"]]
    assert names == ["Synced", "B", "A"]
    assert [a["id"] for a in api.get("bank_accounts?kind=manual").json["data"]] == [
        second["id"],
        first["id"],
    ]
    assert [a["name"] for a in api.get("bank_accounts?kind=provider").json["data"]] == ["Synced"]
    assert [a["id"] for a in api.get("bank_accounts?currency=USD").json["data"]] == [second["id"]]
    by_iban = api.get("bank_accounts", query_string={"iban": "DE89 3704 0044 0532 0130 00"})
    assert [a["id"] for a in by_iban.json["data"]] == [first["id"]]


@pytest.mark.parametrize(
    ("query", "param"),
    [("kind=other", "kind"), ("currency=ABC", "currency"), ("iban=XX", "iban"), ("foo=1", "foo")],
)
def test_bad_list_filters_are_400(api, query, param):
    response = api.get(f"bank_accounts?{query}")
    assert response.status_code == 400
    assert response.json["error"]["param"] == param


def test_pagination(api):
    ids = [api.post("bank_accounts", json=account_body(name=f"A{i}")).json["id"] for i in range(3)]
    newest_first = list(reversed(ids))
    page = api.get("bank_accounts?limit=2").json
    assert [a["id"] for a in page["data"]] == newest_first[:2]
    assert page["has_more"] is True
    rest = api.get(f"bank_accounts?limit=2&starting_after={page['next_cursor']}").json
    assert [a["id"] for a in rest["data"]] == newest_first[2:]
    assert rest["has_more"] is False
    back = api.get(f"bank_accounts?ending_before={newest_first[2]}").json
    assert [a["id"] for a in back["data"]] == newest_first[:2]


def test_other_tenant_cannot_see_accounts(api, other_api):
    mine = api.post("bank_accounts", json=account_body()).json
    response = other_api.get(f"bank_accounts/{mine['id']}")
    assert response.status_code == 404
    assert response.json["error"]["type"] == "not_found"
    assert other_api.get("bank_accounts").json["data"] == []
    assert api.get("bank_accounts/ba_missing").status_code == 404


def test_read_scope_cannot_create(app, make_tenant):
    from tests.helpers import ApiClient

    reader = make_tenant("Reader", scopes=["transactions:read"])
    client = ApiClient(app.test_client(), reader.secret)
    assert client.get("bank_accounts").status_code == 200
    assert client.post("bank_accounts", json=account_body()).status_code == 403
