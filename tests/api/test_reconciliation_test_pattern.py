"""POST /reconciliation/test_pattern: what a tenant's reference pattern extracts."""

from __future__ import annotations

import pytest

from payymo.models import AuditLog
from tests.reconciliation_helpers import assert_error, count_rows


def _try(api, pattern, text):
    return api.post("reconciliation/test_pattern", json={"pattern": pattern, "text": text})


def test_a_named_ref_group_gives_normalised_references_in_order(api):
    response = _try(api, r"(?P<ref>ORD[- ]?\d+)", "Payment ORD-00042 and ord 7, INV-1042, ORD-42")
    assert response.status_code == 200, response.json
    assert response.json == {"object": "reference_test", "references": ["ORD-42", "ORD-7"]}


def test_the_first_group_is_the_reference_when_there_is_no_named_one(api):
    assert _try(api, r"ORD-(\d+)", "Payment ORD-00042").json["references"] == ["42"]


def test_a_pattern_that_finds_nothing_gives_an_empty_list(api):
    assert _try(api, r"ORD-(\d+)", "Thank you for your business").json["references"] == []


@pytest.mark.parametrize(
    "pattern",
    [
        "(",  # does not compile
        r"(a+)+$",  # nested repeat: catastrophic backtracking
        r"(\w)\1",  # backreference
        "",
        "x" * 201,
    ],
)
def test_an_unusable_pattern_is_400_naming_it(api, pattern):
    error = assert_error(_try(api, pattern, "INV-1"), 400, param="pattern")
    assert error["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"pattern": "x"}, "text"),
        ({"text": "x"}, "pattern"),
        ({"pattern": "x", "text": "y" * 4001}, "text"),
        ({"pattern": "x", "text": "a\x00b"}, "text"),
        ({"pattern": "x", "text": "y", "flags": "i"}, "flags"),
    ],
)
def test_a_malformed_body_is_400_naming_the_field(api, body, param):
    assert_error(api.post("reconciliation/test_pattern", json=body), 400, param=param)


def test_trying_a_pattern_changes_nothing_but_the_audit_log(api):
    before = api.get("tenant").json["settings"]
    assert _try(api, r"ORD-(\d+)", "ORD-1").status_code == 200
    assert api.get("tenant").json["settings"] == before
    assert count_rows(AuditLog, action="POST /api/v1/reconciliation/test_pattern") == 1
