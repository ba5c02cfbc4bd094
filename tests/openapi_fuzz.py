"""Run schemathesis's engine against the WSGI app and gather what it found."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field

import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema

from tests.serving import serve

CHECKS = (
    "not_a_server_error",
    "response_schema_conformance",
    "negative_data_rejection",
    "ignored_auth",
)


@dataclass
class Finding:
    """One failed check: where, which check, and how to see it again."""

    operation: str
    check: str
    title: str
    message: str
    curl: str

    def __str__(self) -> str:
        return f"{self.operation}: {self.check}: {self.title}\n{self.message}\n{self.curl}"


@dataclass
class FuzzRun:
    """What a run covered and found."""

    operations: set[str] = field(default_factory=set)
    cases: int = 0
    # phase name → its test cases; → the seconds its scenarios took
    phases: Counter = field(default_factory=Counter)
    phase_seconds: Counter = field(default_factory=Counter)
    # phase name → the operations it ran scenarios for
    phase_operations: dict[str, set[str]] = field(default_factory=dict)
    checks: Counter = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # "METHOD /path" → every status the app answered the operation with
    statuses: dict[str, set[int]] = field(default_factory=dict)

    def summary(self) -> str:
        """One paragraph for a person (and the closing note)."""
        checks = ", ".join(f"{name} {count}" for name, count in sorted(self.checks.items()))
        phases = ", ".join(
            f"{name} {count} ({self.phase_seconds[name]:.0f} s)"
            for name, count in sorted(self.phases.items())
        )
        return (
            f"schemathesis: {len(self.operations)} operations, {self.cases} test cases "
            f"({phases}); "
            f"checks run: {checks}; {len(self.findings)} failures, {len(self.errors)} errors"
        )


def run(
    app,
    *,
    api_key: str,
    max_examples: int,
    seed: int = 1,
    coverage: Collection[str] | None = None,
) -> FuzzRun:
    """Every phase of schemathesis against ``app`` with the four checks; fixed seed.

    ``coverage`` names the operations ("GET /api/v1/…") the coverage phase runs on
    (default: all); every other phase runs on every operation.
    """
    options: dict = {
        "seed": seed,
        "headers": {"X-API-Key": api_key},
        "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        "generation": {"max-examples": max_examples},
    }
    others = ("examples", "fuzzing", "stateful")
    # (phases switched off, operations) per pass: one pass of every phase, or the other
    # phases on every operation and then the coverage phase on the chosen ones.
    passes: list[tuple[tuple[str, ...], Collection[str] | None]] = (
        [((), None)] if coverage is None else [(("coverage",), None), (others, coverage)]
    )
    result = FuzzRun()
    stream: list = []
    with serve(app, threaded=False) as base_url:
        for off, chosen in passes:
            config = SchemathesisConfig.from_dict(
                {**options, "phases": {name: {"enabled": False} for name in off}}
            )
            schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=config)
            if chosen is not None:
                wanted = set(chosen)
                schema = schema.include(lambda ctx, wanted=wanted: ctx.operation.label in wanted)
            stream += from_schema(schema).execute()
    for event in stream:
        if isinstance(event, events.NonFatalError):
            result.errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            result.errors.append(repr(event.exception))
        elif isinstance(event, events.ScenarioFinished):
            _record(result, event.recorder)
            result.phases[event.phase.value] += len(event.recorder.cases)
            result.phase_seconds[event.phase.value] += event.elapsed_time
            result.phase_operations.setdefault(event.phase.value, set()).add(event.recorder.label)
    return result


def operations(app) -> list[str]:
    """Every documented operation, as schemathesis names it ("GET /api/v1/…")."""
    spec = app.test_client().get("/api/v1/openapi.json").json
    return sorted(
        f"{method.upper()} {path}"
        for path, item in spec["paths"].items()
        for method in item
        if method in {"get", "put", "post", "patch", "delete"}
    )


def sample(app, *, share: float, seed: int) -> list[str]:
    """A ``share`` of the operations, drawn with ``seed`` (the same seed, the same ones)."""
    every = operations(app)
    return sorted(random.Random(seed).sample(every, max(1, round(len(every) * share))))


def _record(result: FuzzRun, recorder) -> None:
    result.operations.add(recorder.label)
    result.cases += len(recorder.cases)
    for case_id, interaction in recorder.interactions.items():
        case = recorder.cases[case_id].value
        if interaction.response is not None:
            label = f"{case.method.upper()} {case.operation.path}"
            result.statuses.setdefault(label, set()).add(interaction.response.status_code)
    for nodes in recorder.checks.values():
        for node in nodes:
            result.checks[node.name] += 1
            if node.status == Status.FAILURE and node.failure_info is not None:
                failure = node.failure_info.failure
                result.findings.append(
                    Finding(
                        operation=recorder.label,
                        check=node.name,
                        title=failure.title,
                        message=failure.message,
                        curl=node.failure_info.code_sample,
                    )
                )
