"""Paths the published guidelines name: PUT /transactions/{id}, /reconciliation/match aliases.

Also the body rules the OpenAPI document states: a required body is required, a PATCH
must change something, and the run's body is optional.
"""

from __future__ import annotations

import pytest

from payymo.models import AuditLog, Event, Transaction
from payymo.tenancy import tenant_scope
from tests.helpers import ApiClient
from tests.reconciliation_helpers import Seed, assert_error, count_rows


@pytest.fixture
def seed(session, tenant) -> Seed:
    return Seed(session, tenant.tenant_id)


def _put(api, txn_id, body):
    return api.request("PUT", f"transactions/{txn_id}", json=body)


def test_put_replaces_every_writable_field_and_clears_the_omitted(api, seed):
    txn = seed.transaction(5_000)
    first = api.patch(f"transactions/{txn}", json={"category": "sales", "notes": "checked"})
    assert (first.json["category"], first.json["notes"]) == ("sales", "checked")

    response = _put(api, txn, {"notes": "called the customer"})

    assert response.status_code == 200, response.json
    body = response.json
    assert (body["category"], body["notes"], body["ignored"]) == (
        None,
        "called the customer",
        False,
    )
    assert api.get(f"transactions/{txn}").json == body


def test_put_ignored_true_then_omitted_puts_the_transaction_back(api, seed):
    txn = seed.transaction(5_000)
    ignored = _put(api, txn, {"ignored": True, "category": "transfer"})
    assert (ignored.json["match_status"], ignored.json["ignored"]) == ("ignored", True)

    back = _put(api, txn, {"category": "transfer"})

    assert (back.json["match_status"], back.json["ignored"]) == ("unmatched", False)
    assert back.json["category"] == "transfer"


def test_put_emits_the_same_event_as_patch_with_what_changed(api, seed, session, tenant):
    txn = seed.transaction(5_000)
    api.patch(f"transactions/{txn}", json={"category": "sales"})

    _put(api, txn, {"notes": "n"})

    with tenant_scope(tenant.tenant_id):
        events = session.query(Event).filter_by(type="transaction.updated").order_by(Event.id).all()
    assert [e.data["previous_attributes"] for e in events] == [
        {"category": None},
        {"category": "sales", "notes": None},
    ]


def test_put_that_changes_nothing_emits_nothing(api, seed):
    txn = seed.transaction(5_000)
    assert _put(api, txn, {}).status_code == 200
    assert count_rows(Event, type="transaction.updated") == 0


def test_put_validates_like_patch(api, seed):
    txn = seed.transaction(5_000)
    assert_error(_put(api, txn, {"ignored": "yes"}), 400, param="ignored")
    assert_error(_put(api, txn, {"amount": 1}), 400, param="amount")
    assert_error(_put(api, "txn_missing", {}), 404)


def test_put_needs_the_write_scope(app, make_tenant, seed):
    reader = make_tenant("Reader Ltd", scopes=["transactions:read"])
    client = ApiClient(app.test_client(), reader.secret)
    assert_error(_put(client, "txn_anything", {}), 403)


def test_put_cannot_ignore_a_matched_transaction(api, seed, session, tenant):
    txn = seed.transaction(5_000)
    with tenant_scope(tenant.tenant_id):
        session.get(Transaction, txn).match_status = "matched"
        session.commit()
    body = assert_error(_put(api, txn, {"ignored": True}), 409, param="ignored")
    assert body["code"] == "transaction_matched"


def _lines(txn, invoice, amount):
    return {"transaction_id": txn, "allocations": [{"invoice_id": invoice, "amount": amount}]}


def test_post_match_alias_makes_the_same_match(api, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)

    response = api.post("reconciliation/match", json=_lines(txn, invoice, 12_300))

    assert response.status_code == 201, response.json
    match = response.json
    assert (match["object"], match["method"], match["status"]) == ("match", "manual", "active")
    assert api.get(f"reconciliation/matches/{match['id']}").json == match
    assert api.get(f"invoices/{invoice}").json["status"] == "paid"
    assert count_rows(Event, type="transaction.matched") == 1
    assert count_rows(AuditLog, action="POST /api/v1/reconciliation/match") == 1


def test_delete_match_alias_reverses_the_match(api, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    match = api.post("reconciliation/matches", json=_lines(txn, invoice, 12_300)).json

    response = api.delete(f"reconciliation/match/{match['id']}")

    assert response.status_code == 200, response.json
    assert response.json["status"] == "reversed"
    assert api.get(f"invoices/{invoice}").json["status"] == "open"
    again = api.delete(f"reconciliation/match/{match['id']}")
    assert (again.status_code, again.json) == (200, response.json)
    assert count_rows(Event, type="match.reversed") == 1


def test_aliases_answer_errors_like_the_canonical_paths(api, app, make_tenant, seed):
    assert_error(api.post("reconciliation/match", json={"allocations": []}), 400)
    assert_error(api.delete("reconciliation/match/mat_missing"), 404)
    reader = make_tenant("Reader Ltd", scopes=["reconciliation:read"])
    client = ApiClient(app.test_client(), reader.secret)
    assert_error(client.post("reconciliation/match", json={}), 403)
    assert_error(client.delete("reconciliation/match/mat_missing"), 403)


def test_openapi_marks_the_match_aliases(api):
    paths = api.client.get("/api/v1/openapi.json").json["paths"]
    canonical = paths["/api/v1/reconciliation/matches"]["post"]
    alias = paths["/api/v1/reconciliation/match"]["post"]
    assert alias["x-alias-of"] == "POST /api/v1/reconciliation/matches"
    assert canonical["x-aliases"] == ["POST /api/v1/reconciliation/match"]
    assert "x-alias-of" not in canonical
    assert alias["requestBody"] == canonical["requestBody"]
    assert alias["responses"] == canonical["responses"]
    assert alias["tags"] == canonical["tags"]
    delete = paths["/api/v1/reconciliation/match/{match_id}"]["delete"]
    assert delete["x-alias-of"] == "DELETE /api/v1/reconciliation/matches/{match_id}"
    assert paths["/api/v1/reconciliation/matches/{match_id}"]["delete"]["x-aliases"] == [
        "DELETE /api/v1/reconciliation/match/{match_id}"
    ]
    assert set(paths["/api/v1/reconciliation/match/{match_id}"]) == {"delete", "parameters"}


def test_openapi_documents_put_on_a_transaction(api):
    item = api.client.get("/api/v1/openapi.json").json["paths"][
        "/api/v1/transactions/{transaction_id}"
    ]
    assert {"get", "patch", "put"} <= set(item)
    assert item["put"]["requestBody"]["required"] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "invoices"),
        ("POST", "invoices/batch"),
        ("POST", "bank_accounts"),
        ("POST", "transactions/import"),
        ("POST", "reconciliation/matches"),
        ("PATCH", "tenant"),
        ("PUT", "transactions/txn_any"),
    ],
)
def test_a_required_body_that_is_missing_is_a_400(api, method, path):
    body = assert_error(api.request(method, path), 400, param=None)
    assert body["code"] == "parameter_missing"
    assert body["message"] == "This request needs a JSON body."


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("tenant", "name, default_currency, settings."),
        ("transactions/{txn}", "category, notes, ignored."),
    ],
)
def test_an_empty_patch_is_a_400_that_lists_the_fields(api, seed, path, fields):
    url = path.format(txn=seed.transaction(100))
    body = assert_error(api.patch(url, json={}), 400, param=None)
    assert body["code"] == "parameter_missing"
    assert body["message"] == f"Send at least one field to change: {fields}"


def test_an_empty_invoice_patch_is_a_400(api, seed):
    invoice = seed.invoice("ERP-1")
    body = assert_error(api.patch(f"invoices/{invoice}", json={}), 400, param=None)
    assert body["code"] == "parameter_missing"


def test_the_run_body_is_optional_and_documented_so(api):
    assert api.post("reconciliation/run").status_code == 202
    assert api.post("reconciliation/run", json={}).status_code == 202
    assert_error(api.post("reconciliation/run", json={"fast": True}), 400, param="fast")
    assert_error(api.post("reconciliation/run", json={"full": 1}), 400, param="full")
    spec = api.client.get("/api/v1/openapi.json").json
    assert spec["paths"]["/api/v1/reconciliation/run"]["post"]["requestBody"]["required"] is False
    assert spec["paths"]["/api/v1/tenant"]["patch"]["requestBody"]["required"] is True
