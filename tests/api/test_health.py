"""Operator and discovery endpoints: /healthz, /readyz, /metrics, OpenAPI spec, docs."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families

from payymo import runtime
from tests.conftest import EMBEDDED
from tests.helpers import invoice_body

pytestmark = pytest.mark.usefixtures("connection")


@pytest.fixture
def client(app):
    return app.test_client()


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["X-Request-Id"]


def test_readyz_reports_its_checks(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ok"
    expected = {"database": "ok"} if EMBEDDED else {"database": "ok", "redis": "ok"}
    assert body["checks"] == expected
    assert "failing" not in body


def test_readyz_is_degraded_not_503_when_only_redis_is_down(client, settings):
    runtime.configure(settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    try:
        response = client.get("/readyz")
    finally:
        runtime.configure(settings)
    # The API keeps serving without Redis: stay in the load balancer, say what is degraded.
    assert response.status_code == 200
    body = response.json
    assert body["status"] == "degraded"
    assert body["checks"] == {"database": "ok", "redis": "unavailable"}
    assert body["degraded"] == ["redis"]
    assert "failing" not in body
    assert "127.0.0.1:1" not in response.get_data(as_text=True)
    # Restored: ready again.
    assert client.get("/readyz").json["status"] == "ok"


def test_readyz_is_503_when_the_database_is_down(client, settings, tmp_path):
    down = (
        f"sqlite:///{tmp_path / 'missing' / 'payymo.db'}"
        if EMBEDDED
        else "postgresql+psycopg://postgres@127.0.0.1:1/payymo"
    )
    runtime.configure(settings.with_overrides(database_url=down))
    try:
        response = client.get("/readyz")
    finally:
        runtime.configure(settings)
    assert response.status_code == 503
    body = response.json
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "unavailable"
    assert body["failing"] == ["database"]
    assert "127.0.0.1:1" not in response.get_data(as_text=True)


def test_metrics_count_requests_by_route(client, api):
    api.get("invoices")
    api.get("invoices")
    api.post("invoices", json=invoice_body())
    client.get("/no/such/route")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert "# TYPE payymo_http_requests_total counter" in text

    samples = {
        (s.labels["method"], s.labels["route"], s.labels["status"]): s.value
        for family in text_string_to_metric_families(text)
        if family.name == "payymo_http_requests"
        for s in family.samples
        if s.name == "payymo_http_requests_total"
    }

    def value(method: str, route: str, status: str) -> float:
        assert (method, route, status) in samples, sorted(samples)
        return samples[(method, route, status)]

    assert value("GET", "/api/v1/invoices", "200") >= 2
    assert value("POST", "/api/v1/invoices", "201") >= 1
    assert value("GET", "<unmatched>", "404") >= 1
    assert "payymo_http_request_duration_seconds_bucket" in text
    # Ids never become label values (bounded cardinality).
    assert "inv_" not in text


def _resolve(spec: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        assert part in node, f"dangling $ref {ref}"
        node = node[part]
    return node


def _walk_refs(spec: dict, node) -> int:
    found = 0
    if isinstance(node, dict):
        if "$ref" in node:
            _resolve(spec, node["$ref"])
            found += 1
        for value in node.values():
            found += _walk_refs(spec, value)
    elif isinstance(node, list):
        for value in node:
            found += _walk_refs(spec, value)
    return found


def test_openapi_spec_is_public_valid_and_lists_the_routes(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"]
    paths = spec["paths"]
    for path in (
        "/api/v1/invoices",
        "/api/v1/invoices/{invoice_id}",
        "/api/v1/invoices/{invoice_id}/void",
        "/api/v1/invoices/batch",
    ):
        assert path in paths, sorted(paths)
    assert {"get", "post"} <= set(paths["/api/v1/invoices"])
    assert {"get", "patch"} <= set(paths["/api/v1/invoices/{invoice_id}"])
    methods = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
    for path, item in paths.items():
        # Stripe's signed calls arrive outside the API, as DESIGN.md lists them.
        assert path.startswith("/api/v1/") or path == "/webhooks/stripe/{tenant_id}", path
        for method, operation in item.items():
            if method not in methods:
                continue
            assert operation["responses"], f"{method} {path} documents no response"
            parameters = [
                _resolve(spec, p["$ref"]) if "$ref" in p else p
                for p in operation.get("parameters", []) + item.get("parameters", [])
            ]
            declared = {p["name"] for p in parameters if p["in"] == "path"}
            assert declared == set(re.findall(r"{(\w+)}", path)), f"{method} {path}"
    assert _walk_refs(spec, spec) > 0
    assert "ApiKey" in spec["components"]["securitySchemes"]


def test_api_docs_page(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    text = response.get_data(as_text=True)
    assert "swagger" in text.lower()
    assert "/api/v1/openapi.json" in text
