"""Run schemathesis's engine against the WSGI app and gather what it found."""

from __future__ import annotations

from collections import Counter
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
    checks: Counter = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # "METHOD /path" → every status the app answered the operation with
    statuses: dict[str, set[int]] = field(default_factory=dict)

    def summary(self) -> str:
        """One paragraph for a person (and the closing note)."""
        checks = ", ".join(f"{name} {count}" for name, count in sorted(self.checks.items()))
        return (
            f"schemathesis: {len(self.operations)} operations, {self.cases} test cases; "
            f"checks run: {checks}; {len(self.findings)} failures, {len(self.errors)} errors"
        )


def run(app, *, api_key: str, max_examples: int, seed: int = 1) -> FuzzRun:
    """Every phase of schemathesis against ``app`` with the four checks; fixed seed."""
    config = SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "headers": {"X-API-Key": api_key},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
            "generation": {"max-examples": max_examples},
        }
    )
    result = FuzzRun()
    with serve(app, threaded=False) as base_url:
        schema = schemathesis.openapi.from_url(f"{base_url}/api/v1/openapi.json", config=config)
        stream = list(from_schema(schema).execute())
    for event in stream:
        if isinstance(event, events.NonFatalError):
            result.errors.append(f"{event.label}: {event.value!r}")
        elif isinstance(event, events.FatalError):
            result.errors.append(repr(event.exception))
        elif isinstance(event, events.ScenarioFinished):
            _record(result, event.recorder)
    return result


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
