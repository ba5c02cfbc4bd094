"""Schemathesis against the app: the OpenAPI document and the code must agree."""

from __future__ import annotations

from tests import openapi_fuzz


def test_api_keeps_its_document(app, make_tenant, connection):
    handle = make_tenant("Fuzz Ltd", plan="fuzz")
    run = openapi_fuzz.run(app, api_key=handle.secret, max_examples=10)
    print(run.summary())
    assert not run.errors, run.errors
    assert not run.findings, "\n\n".join(str(f) for f in run.findings)
