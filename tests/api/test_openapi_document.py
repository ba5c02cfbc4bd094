"""The OpenAPI document states what every operation shares: errors, headers, types."""

from __future__ import annotations

import re

import pytest

from tests.helpers import operations

API = "/api/v1"
TYPED = ("type", "$ref", "anyOf", "oneOf", "allOf", "enum")


def _untyped(node, where: str):
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            if not any(key in prop for key in TYPED):
                yield f"{where}.{name}"
            yield from _untyped(prop, f"{where}.{name}")
        if "items" in node:
            yield from _untyped(node["items"], f"{where}[]")


def test_every_response_property_says_its_type(spec):
    untyped = []
    for name, schema in spec["components"]["schemas"].items():
        if name.endswith(("Out", "List", "Envelope", "Body")):
            untyped += _untyped(schema, name)
    assert not untyped, untyped


def test_object_fields_are_their_one_string(spec):
    invoice = spec["components"]["schemas"]["InvoiceOut"]["properties"]["object"]
    assert invoice == {"type": "string", "enum": ["invoice"], "default": "invoice"}


def test_every_operation_lists_the_errors_it_can_answer(spec):
    problems = []
    for path, method, op, _params in operations(spec):
        statuses = {s for s in op["responses"] if s.isdigit()}
        wanted = {"400", "401", "403", "429", "503"}
        if "{" in path:
            wanted.add("404")
        if method != "get":
            wanted |= {"409", "415"}
        if "requestBody" in op:
            wanted.add("413")
        if missing := wanted - statuses:
            problems.append(f"{method.upper()} {path}: {sorted(missing)}")
        for status in {s for s in statuses if int(s) >= 400}:
            response = op["responses"][status]
            if "$ref" not in response:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (path, status)
    assert not problems, problems


def test_shared_error_responses_carry_the_envelope_and_their_headers(spec):
    responses = spec["components"]["responses"]
    for name in ("RateLimited", "ServiceUnavailable"):
        assert {"Retry-After", "X-Request-Id", "X-RateLimit-Reset"} <= set(
            responses[name]["headers"]
        )
    for name in ("InvalidRequest", "Unauthenticated", "Forbidden", "NotFound", "Conflict"):
        body = responses[name]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/ErrorEnvelope"}
        assert "X-Request-Id" in responses[name]["headers"]


def test_every_success_response_documents_request_id_and_rate_limit_headers(spec):
    for path, method, op, _params in operations(spec):
        for status, response in op["responses"].items():
            if status.startswith("2"):
                headers = set(response["headers"])
                assert {"X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining"} <= headers
                assert ("Idempotent-Replayed" in headers) == (method == "post"), (path, status)


def test_every_post_takes_an_idempotency_key_and_nothing_else_does(spec):
    ref = {"$ref": "#/components/parameters/IdempotencyKey"}
    for path, method, op, _params in operations(spec):
        assert (ref in op.get("parameters", [])) == (method == "post"), f"{method} {path}"
    key = spec["components"]["parameters"]["IdempotencyKey"]
    assert (key["in"], key["name"], key["required"]) == ("header", "Idempotency-Key", False)
    assert key["schema"]["maxLength"] == 255


def test_the_document_names_a_server(spec):
    assert spec["servers"] == [
        {"url": "/", "description": "The server this document was loaded from"}
    ]


def test_the_headers_it_documents_are_the_ones_the_api_sends(api, spec):
    response = api.get("invoices")
    for name in ("X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert name in response.headers, name
    assert re.fullmatch(r"req_[0-9a-f]{24}", response.headers["X-Request-Id"])
    again = api.post("reconciliation/run", headers={"Idempotency-Key": "k-1"})
    replay = api.post("reconciliation/run", headers={"Idempotency-Key": "k-1"})
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == again.json


PATCH_BODIES = {"TenantUpdate", "InvoiceUpdate", "TransactionUpdate", "WebhookEndpointUpdate"}


@pytest.mark.parametrize("name", sorted(PATCH_BODIES))
def test_a_patch_body_must_change_something(spec, name):
    assert spec["components"]["schemas"][name]["minProperties"] == 1


def test_only_patch_bodies_need_a_field(spec):
    needing = {n for n, s in spec["components"]["schemas"].items() if s.get("minProperties")}
    assert needing == PATCH_BODIES


def test_cursors_are_documented_as_ids(spec):
    params = {p["name"]: p for p in spec["paths"]["/api/v1/invoices"]["get"]["parameters"]}
    pattern = params["starting_after"]["schema"]["pattern"]
    assert re.fullmatch(pattern[1:-1], "inv_01M8HB6D8YE3RH5PK6CXR1KY0Z")
    assert not re.fullmatch(pattern[1:-1], "inv_01")
    assert params["ending_before"]["schema"]["pattern"] == pattern


def test_a_body_that_names_an_object_documents_the_404(spec):
    for path, method, op, _params in operations(spec):
        ref = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        name = ref.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
        properties = spec["components"]["schemas"].get(name, {}).get("properties", {})
        # institution_id is the provider's bank id: unknown answers 400, not 404.
        if any(
            p.endswith("_id") and p not in ("external_id", "institution_id") for p in properties
        ):
            assert "404" in op["responses"], f"{method.upper()} {path}"
