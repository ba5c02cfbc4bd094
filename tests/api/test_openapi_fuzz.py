"""Schemathesis against the app: the OpenAPI document and the code must agree.

Every phase runs on every operation, except the coverage phase (about 60% of the time,
4,500 deterministic boundary cases): each run draws half of the operations for it, a
fresh draw per run, so successive runs cover them all. A failure names its draw;
``FUZZ_COVERAGE_SEED=<seed>`` repeats it, ``FUZZ_COVERAGE_SHARE=1`` runs all of them
(as does ``make fuzz``, against a served app).
"""

from __future__ import annotations

import os
import random

from tests import openapi_fuzz

SHARE = float(os.environ.get("FUZZ_COVERAGE_SHARE", "0.5"))


def test_api_keeps_its_document(app, make_tenant, connection):
    handle = make_tenant("Fuzz Ltd", plan="fuzz")
    seed = int(os.environ.get("FUZZ_COVERAGE_SEED") or random.randrange(1_000_000))
    draw = f"coverage phase on {SHARE:.0%} of the operations, FUZZ_COVERAGE_SEED={seed}"
    coverage = openapi_fuzz.sample(app, share=SHARE, seed=seed)
    run = openapi_fuzz.run(app, api_key=handle.secret, max_examples=10, coverage=coverage)
    print(f"{run.summary()}; {draw}")
    assert not run.errors, (draw, run.errors)
    covered = run.phase_operations["coverage"]
    assert covered == set(coverage), (draw, covered ^ set(coverage))
    assert run.phase_operations["fuzzing"] == set(openapi_fuzz.operations(app))
    assert not run.findings, "\n\n".join([draw, *(str(f) for f in run.findings)])
    spec = app.test_client().get("/api/v1/openapi.json").json
    undocumented = []
    for label, statuses in run.statuses.items():
        method, path = label.split(" ", 1)
        operation = spec["paths"][path].get(method.lower())
        if operation is None:
            # schemathesis also tries methods a path does not have: 405 (OPTIONS answers
            # Flask's automatic Allow list).
            assert statuses == ({200} if method == "OPTIONS" else {405}), (label, statuses, draw)
            continue
        documented = {int(s) for s in operation["responses"] if s.isdigit()}
        if extra := statuses - documented:
            undocumented.append(
                f"{label}: answered {sorted(extra)}, documents {sorted(documented)}"
            )
    # Every status an operation answered is one it lists by number (not only as "default").
    assert not undocumented, "\n".join([draw, *undocumented])
