"""Schemathesis against the app: the OpenAPI document and the code must agree."""

from __future__ import annotations

from tests import openapi_fuzz


def test_api_keeps_its_document(app, make_tenant, connection):
    handle = make_tenant("Fuzz Ltd", plan="fuzz")
    run = openapi_fuzz.run(app, api_key=handle.secret, max_examples=10)
    print(run.summary())
    assert not run.errors, run.errors
    assert not run.findings, "\n\n".join(str(f) for f in run.findings)
    spec = app.test_client().get("/api/v1/openapi.json").json
    undocumented = []
    for label, statuses in run.statuses.items():
        method, path = label.split(" ", 1)
        operation = spec["paths"][path].get(method.lower())
        if operation is None:
            # schemathesis also tries methods a path does not have: 405 (OPTIONS answers
            # Flask's automatic Allow list).
            assert statuses == ({200} if method == "OPTIONS" else {405}), (label, statuses)
            continue
        documented = {int(s) for s in operation["responses"] if s.isdigit()}
        if extra := statuses - documented:
            undocumented.append(
                f"{label}: answered {sorted(extra)}, documents {sorted(documented)}"
            )
    # Every status an operation answered is one it lists by number (not only as "default").
    assert not undocumented, "\n".join(undocumented)
