"""Every operation's example request and response exist, fit the schemas, and the API takes them."""

from __future__ import annotations

import copy

import jsonschema
import pytest
from marshmallow import class_registry

from payymo.api.openapi import examples
from tests.helpers import ApiClient, operations

API = "/api/v1"


def _inline(spec: dict, node):
    """The schema with every $ref inlined and OpenAPI's ``nullable`` as JSON Schema's null."""
    if isinstance(node, list):
        return [_inline(spec, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        return _inline(spec, spec["components"]["schemas"][name])
    out = {key: _inline(spec, value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if out.get("readOnly") and "properties" not in out:
        out.pop("readOnly")
    return out


def _json(content: dict) -> dict:
    return content.get("content", {}).get("application/json", {})


def _strict(schema: dict) -> dict:
    """The response schema, also refusing properties it does not declare."""
    schema = copy.deepcopy(schema)

    def close(node):
        if isinstance(node, dict):
            if node.get("type") in ("object", ["object", "null"]) and "properties" in node:
                node.setdefault("additionalProperties", False)
            for value in node.values():
                close(value)
        elif isinstance(node, list):
            for value in node:
                close(value)

    close(schema)
    return schema


def test_every_operation_has_its_examples(spec):
    missing = []
    for path, method, op, path_params in operations(spec):
        label = f"{method.upper()} {path}"
        body = _json(op.get("requestBody", {}))
        if body and "example" not in body:
            missing.append(f"{label}: request body")
        for status, response in op["responses"].items():
            if status.startswith("2") and _json(response) and "example" not in _json(response):
                missing.append(f"{label}: {status} response")
        for param in [*op.get("parameters", []), *path_params]:
            if "$ref" not in param and "example" not in param:
                missing.append(f"{label}: parameter {param['name']}")
    assert not missing, "\n".join(missing)


def test_response_examples_fit_their_schemas_exactly(spec):
    checked = 0
    for path, method, op, _params in operations(spec):
        for status, response in op["responses"].items():
            content = _json(response)
            if not status.startswith("2") or "example" not in content:
                continue
            schema = _strict(_inline(spec, content["schema"]))
            try:
                jsonschema.validate(content["example"], schema)
            except jsonschema.ValidationError as error:
                pytest.fail(f"{method.upper()} {path} {status}: {error.message} at {error.path}")
            declared = set(schema.get("properties", {}))
            assert set(content["example"]) == declared, f"{method.upper()} {path} {status}"
            checked += 1
    assert checked >= 40


def test_request_examples_load_through_the_request_schemas(spec):
    loaded = 0
    for _path, _method, op, _params in operations(spec):
        body = _json(op.get("requestBody", {}))
        if not body:
            continue
        schema = body["schema"]
        jsonschema.validate(body["example"], _inline(spec, schema))
        name = schema["$ref"].rsplit("/", 1)[-1]
        class_registry.get_class(name)().load(body["example"])
        loaded += 1
    assert loaded == len(examples.REQUESTS)


# Examples that need no object to exist first: the app itself must take them.
STANDALONE = {
    ("patch", f"{API}/tenant"): 200,
    ("post", f"{API}/api_keys"): 201,
    ("post", f"{API}/invoices"): 201,
    ("post", f"{API}/invoices/batch"): 200,
    ("post", f"{API}/bank_accounts"): 201,
    ("post", f"{API}/reconciliation/test_pattern"): 200,
    ("post", f"{API}/reconciliation/run"): 202,
}


@pytest.mark.parametrize(("method", "path"), sorted(STANDALONE))
def test_the_api_takes_the_standalone_request_examples(api, spec, method, path):
    body = _json(spec["paths"][path][method]["requestBody"])["example"]
    response = api.request(method.upper(), path, json=body)
    assert response.status_code == STANDALONE[(method, path)], response.json
    documented = _json(spec["paths"][path][method]["responses"][str(response.status_code)])
    assert set(response.json) == set(documented["example"])


def test_the_api_takes_the_import_and_match_examples(api, spec):
    account = api.post("bank_accounts", json={"name": "Main GBP", "currency": "GBP"}).json["id"]
    body = copy.deepcopy(_json(spec["paths"][f"{API}/transactions/import"]["post"]["requestBody"]))
    body["example"]["account_id"] = account
    imported = api.post("transactions/import", json=body["example"])
    assert imported.status_code == 200, imported.json
    assert [r["status"] for r in imported.json["results"]] == ["created", "created"]
    match = copy.deepcopy(
        _json(spec["paths"][f"{API}/reconciliation/matches"]["post"]["requestBody"])["example"]
    )
    match["transaction_id"] = imported.json["results"][0]["id"]
    invoice_body = _json(spec["paths"][f"{API}/invoices"]["post"]["requestBody"])["example"]
    # An invoice the line does not name, so no run matches them before the example does.
    other = {**invoice_body, "external_id": "ERP-9", "number": "INV-9", "customer_reference": None}
    invoice = api.post("invoices", json=other).json
    match["allocations"][0]["invoice_id"] = invoice["id"]
    made = api.post("reconciliation/matches", json=match)
    assert made.status_code == 201, made.json


CURSORS = ("starting_after", "ending_before")


def test_every_query_parameter_example_is_accepted_on_its_own(spec, app, tenant, partner_api):
    client = ApiClient(app.test_client(), tenant.secret)
    refused = []
    for path, method, op, _params in operations(spec):
        if method != "get" or "{" in path or path.endswith("/bank_connections/callback"):
            continue  # the callback's state names a consent in flight; tested on its own
        caller = partner_api if path.startswith("/api/v1/partner/") else client
        for param in op.get("parameters", []):
            if param.get("in") != "query":
                continue
            response = caller.get(path, query_string={param["name"]: param["example"]})
            if param["name"] in CURSORS and response.status_code == 400:
                # The example names an object of another tenant's list: refused as a cursor.
                assert response.json["error"]["code"] == "invalid_cursor"
                continue
            if response.status_code != 200:
                refused.append(f"{path}?{param['name']}={param['example']}: {response.json}")
    assert not refused, "\n".join(refused)
