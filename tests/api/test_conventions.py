"""API conventions: one error envelope, request ids, body limits, strict input, atomicity."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from flask import Blueprint
from sqlalchemy import func, select

from payymo import create_app, db
from payymo.models import AuditLog, Event, Invoice
from payymo.tenancy import system_scope
from tests.helpers import ApiClient, invoice_body

ENVELOPE_KEYS = {"type", "code", "message", "param", "request_id"}


def assert_envelope(response, status: int, *, type_: str | None = None, param=...) -> dict:
    """The response is ``status`` in the error envelope; returns the inner error."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) >= ENVELOPE_KEYS
    assert isinstance(error["message"], str) and error["message"]
    assert error["request_id"] == response.headers["X-Request-Id"]
    if type_ is not None:
        assert error["type"] == type_
    if param is not ...:
        assert error["param"] == param
    return error


def count(model) -> int:
    with system_scope():
        return db.session.scalar(select(func.count()).select_from(model))


# --- the error envelope for every failure ---------------------------------------------------


def test_unknown_route_under_the_api_is_a_404_envelope(api):
    error = assert_envelope(api.get("nope"), 404, type_="not_found")
    assert error["code"] == "route_not_found"


def test_unknown_route_outside_the_api_is_a_404_envelope(app, connection):
    response = app.test_client().get("/definitely/not/here")
    error = assert_envelope(response, 404, type_="not_found")
    assert error["code"] == "route_not_found"


def test_unknown_id_is_a_404_naming_nothing_internal(api):
    error = assert_envelope(api.get("invoices/inv_00000000000000000000000000"), 404)
    assert error["type"] == "not_found"
    assert error["code"] == "resource_missing"


def test_wrong_method_is_a_405_envelope_with_allow(api):
    response = api.delete("invoices")
    error = assert_envelope(response, 405)
    assert error["code"] == "method_not_allowed"
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_missing_key_is_a_401_envelope(app, connection):
    response = app.test_client().get("/api/v1/invoices")
    error = assert_envelope(response, 401, type_="authentication_error")
    assert error["code"] == "missing_api_key"


def test_a_ten_megabyte_body_is_a_413_envelope(api):
    body = b'{"external_id": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    response = api.post("invoices", data=body, content_type="application/json")
    error = assert_envelope(response, 413)
    assert error["code"] == "body_too_large"
    assert count(Invoice) == 0


def _padded_invoices(rows: int) -> list[dict]:
    note = "n" * 480
    return [
        invoice_body(f"PAD-{i}", metadata={"note": note, "memo": note}, number=None)
        for i in range(rows)
    ]


def test_300_kb_on_a_normal_endpoint_is_413(api):
    body = invoice_body(metadata={f"k{i}": "v" * 500 for i in range(50)})
    raw = json.dumps({**body, "customer_name": "x"}).encode()
    raw = raw[:-1] + b', "pad": "' + b" " * (300 * 1024 - len(raw)) + b'"}'
    assert len(raw) > 300 * 1024
    response = api.post("invoices", data=raw, content_type="application/json")
    assert_envelope(response, 413)
    assert count(Invoice) == 0


def test_900_kb_is_accepted_on_the_batch_endpoint(api):
    raw = json.dumps({"invoices": _padded_invoices(860)}).encode()
    assert 880 * 1024 < len(raw) < 1024 * 1024
    response = api.post("invoices/batch", data=raw, content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.json["counts"] == {"created": 860, "updated": 0, "unchanged": 0, "error": 0}
    assert count(Invoice) == 860


def _chunked(api, path: str, raw: bytes):
    # What a WSGI server does for a chunked body: no Content-Length, stream terminated.
    return api.post(
        path,
        input_stream=io.BytesIO(raw),
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_an_oversized_chunked_body_is_413_not_truncated(api):
    raw = json.dumps(invoice_body()).encode() + b" " * (300 * 1024)
    assert_envelope(_chunked(api, "invoices", raw), 413)
    assert count(Invoice) == 0


def test_a_chunked_body_within_the_limit_is_accepted(api):
    response = _chunked(api, "invoices", json.dumps(invoice_body()).encode())
    assert response.status_code == 201, response.json
    assert count(Invoice) == 1


def test_text_plain_body_is_a_415_envelope(api):
    response = api.post(
        "invoices", data=json.dumps(invoice_body()), content_type="text/plain; charset=utf-8"
    )
    error = assert_envelope(response, 415)
    assert error["code"] == "unsupported_media_type"
    assert count(Invoice) == 0


def test_form_body_is_a_415_envelope(api):
    response = api.post("invoices", data={"external_id": "ERP-1"})
    assert_envelope(response, 415)


@pytest.fixture
def crashing_app(settings, connection):
    """A separate app with a route that writes, then fails unexpectedly."""
    application = create_app(settings)
    boom = Blueprint("boom", __name__)

    @boom.post("/api/v1/boom")
    def _boom():
        db.session.add(Invoice(external_id="HALF", amount_due=1, currency="EUR", metadata_={}))
        db.session.flush()
        password = "".join(["hun", "ter2"])  # a value known only at run time
        raise RuntimeError(f"secret detail: password={password} at /srv/payymo/app.py")

    application.register_blueprint(boom)
    return application


def _audit_rows() -> list[AuditLog]:
    with system_scope():
        return list(db.session.scalars(select(AuditLog)))


def test_unexpected_error_is_a_500_envelope_without_internals(crashing_app, tenant, caplog):
    client = ApiClient(crashing_app.test_client(), tenant.secret)
    with caplog.at_level(logging.ERROR, logger="payymo.errors"):
        response = client.post("/api/v1/boom", json={})
    error = assert_envelope(response, 500, type_="api_error")
    text = response.get_data(as_text=True)
    assert "Traceback" not in text
    assert "hunter2" not in text
    assert "secret detail" not in text
    assert "RuntimeError" not in text
    assert ".py" not in text
    assert "/srv/" not in text
    assert error["message"] == "An internal error occurred."
    # The log has what an operator needs (where, under which request id), not the secret.
    [record] = [r for r in caplog.records if r.getMessage() == "unhandled error"]
    assert record.request_id == error["request_id"] == response.headers["X-Request-Id"]
    assert "builtins.RuntimeError" in record.traceback
    assert "in _boom" in record.traceback and "test_conventions.py" in record.traceback
    assert "hunter2" not in record.traceback  # the message (run-time values) is never logged
    # The half-done write was rolled back; the audit row records the failure, not success.
    assert count(Invoice) == 0
    [audited] = _audit_rows()
    assert (audited.status_code, audited.error_code, audited.resource_id) == (
        500,
        "internal_error",
        None,
    )


# --- request ids ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/openapi.json", "/nope", "/api/v1/invoices"])
def test_every_response_has_a_generated_request_id(app, connection, path):
    response = app.test_client().get(path)
    rid = response.headers["X-Request-Id"]
    assert rid.startswith("req_") and len(rid) > 10
    other = app.test_client().get(path).headers["X-Request-Id"]
    assert other != rid


def test_a_sane_client_request_id_is_kept_beside_ours_never_as_ours(api):
    response = api.get("invoices", headers={"X-Request-Id": "zapier-run-42.a:b_c"})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"].startswith("req_")
    assert response.headers["X-Client-Request-Id"] == "zapier-run-42.a:b_c"
    failed = api.get("invoices/inv_x", headers={"X-Request-Id": "client-trace-0001"})
    assert failed.headers["X-Client-Request-Id"] == "client-trace-0001"
    # The envelope names our id: two clients sending one id still get two request ids.
    assert failed.json["error"]["request_id"] == failed.headers["X-Request-Id"]
    again = api.get("invoices/inv_x", headers={"X-Request-Id": "client-trace-0001"})
    assert again.json["error"]["request_id"] != failed.json["error"]["request_id"]


@pytest.mark.parametrize(
    "bad", ["short", "has spaces in it", "x" * 65, "<script>alert(1)</script>", "a\u00e9bcdefghi"]
)
def test_an_insane_client_request_id_is_ignored(api, bad):
    response = api.get("invoices", headers={"X-Request-Id": bad.encode().decode("latin-1")})
    rid = response.headers["X-Request-Id"]
    assert rid != bad
    assert rid.startswith("req_")
    assert "X-Client-Request-Id" not in response.headers


def test_a_client_request_id_with_a_trailing_newline_is_ignored(app, api):
    # Header values cannot carry a raw newline through most clients; WSGI environ can.
    response = app.test_client().get(
        "/api/v1/invoices",
        headers={"X-API-Key": api.secret},
        environ_base={"HTTP_X_REQUEST_ID": "client-trace-0001\n"},
    )
    assert response.status_code == 200
    assert "X-Client-Request-Id" not in response.headers


# --- strict input -------------------------------------------------------------------------


def test_unknown_body_field_is_rejected_naming_it(api):
    error = assert_envelope(
        api.post("invoices", json=invoice_body(colour="blue")), 400, param="colour"
    )
    assert error["code"] == "parameter_unknown"
    assert error["type"] == "invalid_request_error"


def test_unknown_query_parameter_is_rejected_naming_it(api):
    error = assert_envelope(api.get("invoices?colour=blue"), 400, param="colour")
    assert error["code"] == "parameter_unknown"


def test_unknown_query_parameter_is_rejected_on_routes_without_a_query_schema(api):
    invoice_id = api.post("invoices", json=invoice_body()).json["id"]
    got = api.get(f"invoices/{invoice_id}?expand=customer")
    assert_envelope(got, 400, param="expand")
    voided = api.post(f"invoices/{invoice_id}/void?force=true")
    assert_envelope(voided, 400, param="force")
    created = api.post("invoices?dry_run=1", json=invoice_body("ERP-2"))
    assert_envelope(created, 400, param="dry_run")
    assert api.get(f"invoices/{invoice_id}").json["status"] == "open"
    assert count(Invoice) == 1


CALLBACK = "/api/v1/bank_connections/callback"
# Stripe's own signed requests: outside the API, as Stripe sends them.
STRIPE_WEBHOOK = "/webhooks/stripe/{tenant_id}"


def test_every_operation_in_the_spec_rejects_an_unknown_query_parameter(api, partner_api):
    spec = api.get("/api/v1/openapi.json").json
    problems = []
    for path, item in spec["paths"].items():
        if path in (CALLBACK, STRIPE_WEBHOOK):
            continue  # the bank's redirect back and Stripe's calls are the providers' own
        url = re.sub(r"{\w+}", "x_00000000000000000000000000", path)
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in item:
                continue
            kwargs = {"json": {}} if method in ("post", "put", "patch") else {}
            if "multipart/form-data" in item[method].get("requestBody", {}).get("content", {}):
                kwargs = {"data": {}, "content_type": "multipart/form-data"}
            # The partner API answers partner keys only.
            caller = partner_api if path.startswith("/api/v1/partner/") else api
            response = caller.request(method.upper(), f"{url}?zz_unknown=1", **kwargs)
            error = (response.get_json(silent=True) or {}).get("error") or {}
            if response.status_code != 400 or error.get("param") != "zz_unknown":
                problems.append(f"{method.upper()} {path}: {response.status_code} {error}")
    assert not problems, "\n".join(problems)


def test_declared_query_parameters_still_work(api):
    assert api.get("invoices?limit=5&status=open").status_code == 200


def test_missing_required_field_names_it(api):
    body = invoice_body()
    del body["amount_due"]
    error = assert_envelope(api.post("invoices", json=body), 400, param="amount_due")
    assert error["code"] == "parameter_missing"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("external_id", "e" * 256),
        ("number", "n" * 101),
        ("customer_name", "c" * 256),
        ("customer_reference", "r" * 101),
        ("customer_email", "a" * 250 + "@x.example"),
    ],
)
def test_strings_have_maximum_lengths(api, field, value):
    assert_envelope(api.post("invoices", json=invoice_body(**{field: value})), 400, param=field)


@pytest.mark.parametrize(
    "amount", [12.5, 12.0, -100, 0, 10**20, True, False, "1230", "12.30", None, [1], {"v": 1}]
)
def test_amounts_must_be_positive_integers_in_range(api, amount):
    response = api.post("invoices", json=invoice_body(amount_due=amount))
    assert_envelope(response, 400, param="amount_due", type_="invalid_request_error")


@pytest.mark.parametrize("currency", ["XYZ", "xyz", "EURO", "", "EUR ", "\u0131nr", 978, None])
def test_currency_must_be_an_iso_code(api, currency):
    response = api.post("invoices", json=invoice_body(currency=currency))
    assert_envelope(response, 400, param="currency")


@pytest.mark.parametrize("value", ["2026-13-01", "2026-02-30", "01/11/2026", "tomorrow", 20261101])
def test_dates_must_be_iso_8601(api, value):
    assert_envelope(
        api.post("invoices", json=invoice_body(issue_date=value)), 400, param="issue_date"
    )


def test_invalid_date_in_a_query_filter_is_rejected(api):
    assert_envelope(api.get("invoices?due_date_from=2026-13-01"), 400, param="due_date_from")


def test_malformed_json_is_invalid_json(api):
    response = api.post("invoices", data=b'{"external_id": "x",', content_type="application/json")
    error = assert_envelope(response, 400)
    assert error["code"] == "invalid_json"


def test_invalid_utf8_is_invalid_json(api):
    response = api.post(
        "invoices", data=b'{"external_id": "\xff"}', content_type="application/json"
    )
    assert assert_envelope(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "deep-1"}])
def test_absurdly_nested_json_is_invalid_json_not_a_500(api, headers):
    raw = b"[" * 50_000 + b"]" * 50_000
    response = api.post("invoices", data=raw, content_type="application/json", headers=headers)
    assert assert_envelope(response, 400)["code"] == "invalid_json"


@pytest.mark.parametrize("raw", [b"[1, 2]", b'"text"', b"42", b"null"])
def test_a_body_that_is_not_an_object_is_rejected(api, raw):
    response = api.post("invoices", data=raw, content_type="application/json")
    assert_envelope(response, 400)
    assert count(Invoice) == 0


def test_validation_reports_every_bad_field(api):
    response = api.post("invoices", json=invoice_body(amount_due=1.5, currency="xyz"))
    error = assert_envelope(response, 400)
    assert {e["param"] for e in error["errors"]} == {"amount_due", "currency"}


# --- nothing is partly written --------------------------------------------------------------


def test_failing_requests_leave_no_rows(api):
    assert api.post("invoices", json=invoice_body("ERP-1")).status_code == 201
    before = (count(Invoice), count(Event), count(AuditLog))
    failures = [
        api.post("invoices", json=invoice_body("ERP-1")),  # conflict after validation
        api.post("invoices", json=invoice_body("ERP-2", amount_due=-1)),
        api.post("invoices", json=invoice_body("ERP-3", due_date="2026-10-01")),
        api.patch("invoices/inv_00000000000000000000000000", json={"number": "X"}),
    ]
    assert [r.status_code for r in failures] == [409, 400, 400, 404]
    assert (count(Invoice), count(Event)) == before[:2]
    # Only the audit trail of the failures (see test_audit) is left behind.
    assert count(AuditLog) == before[2] + len(failures)


def test_a_failed_update_changes_nothing(api):
    created = api.post("invoices", json=invoice_body()).json
    response = api.patch(
        f"invoices/{created['id']}", json={"number": "NEW", "due_date": "2020-01-01"}
    )
    assert_envelope(response, 400, param="due_date")
    assert api.get(f"invoices/{created['id']}").json["number"] == created["number"]
