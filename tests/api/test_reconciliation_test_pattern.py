"""POST /reconciliation/test_pattern: what a tenant's reference pattern extracts."""

from __future__ import annotations

import json
import time

import pytest

from payymo.models import AuditLog
from tests.reconciliation_helpers import assert_error, count_rows


def _try(api, pattern, text):
    return api.post("reconciliation/test_pattern", json={"pattern": pattern, "text": text})


def test_a_named_ref_group_gives_normalised_references_in_order(api):
    response = _try(api, r"(?P<ref>ORD[- ]?\d+)", "Payment ORD-00042 and ord 7, INV-1042, ORD-42")
    assert response.status_code == 200, response.json
    assert response.json == {
        "object": "reference_test",
        "references": ["ORD-42", "ORD-7"],
        "captures": [
            {"captured": "ORD-00042", "normalized": "ORD-42", "without_prefix": "42"},
            {"captured": "ord 7", "normalized": "ORD-7", "without_prefix": "7"},
            {"captured": "ORD-42", "normalized": "ORD-42", "without_prefix": "42"},
        ],
    }


@pytest.mark.parametrize(
    ("captured", "normalized", "without_prefix"),
    [
        ("RE-20240042", "INV-20240042", "20240042"),  # a generic word is INV
        ("Rechnung Nr. 0042", "INV-42", "42"),  # generic words, leading zeros
        ("inv1042", "INV-1042", "1042"),  # case, no separator
        ("Facture n° 2024/0042", "INV-2024-42", "2024-42"),
        ("Invoice ORD-0042", "ORD-42", "42"),  # the invoice's own prefix is kept
        ("ÅB-7", "AB-7", "7"),  # accents folded
        ("00042", "42", "42"),
        ("ABC", "ABC", None),  # no number, no prefix-less form
        ("--", "", None),  # captured, but nothing to look up
    ],
)
def test_each_capture_shows_the_forms_reconciliation_looks_up(
    api, captured, normalized, without_prefix
):
    body = _try(api, r"<([^>]*)>", f"paid <{captured}> thanks").json
    assert body["captures"] == [
        {"captured": captured, "normalized": normalized, "without_prefix": without_prefix}
    ]
    assert body["references"] == ([normalized] if normalized else [])


def test_the_first_group_is_the_reference_when_there_is_no_named_one(api):
    assert _try(api, r"ORD-(\d+)", "Payment ORD-00042").json["references"] == ["42"]


def test_a_pattern_that_finds_nothing_gives_an_empty_list(api):
    assert _try(api, r"ORD-(\d+)", "Thank you for your business").json["references"] == []


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("(", "Not a valid RE2 regular expression: missing ): (."),
        (r"(\w)\1", "Backreferences (\\1, \\k<name>, (?P=name)) are not supported"),
        (r"(?<=INV-)\d+", "Lookaround ((?=, (?!, (?<=, (?<!) is not supported"),
        (r"\d++", "Possessive repeats"),
        (r"(?>ORD)-\d+", "Atomic groups"),
        (r".{1000}", "too complex"),
        ("ORD-\\d+\n", "must not contain control characters"),
        ("ORD\x00", "must not contain control characters"),
        ("", "A reference pattern has 1 to 200 characters."),
        ("x" * 201, "1 to 200 characters"),
    ],
)
def test_an_unusable_pattern_is_400_saying_why(api, pattern, why):
    error = assert_error(_try(api, pattern, "INV-1"), 400, param="pattern")
    assert error["type"] == "invalid_request_error"
    assert why in error["message"]


def test_a_catastrophic_backtracking_pattern_answers_at_once(api):
    # the pattern passed the old screen and took 46 s on 256 characters
    started = time.perf_counter()
    response = _try(api, "a{0,16}" * 6 + "b", "a" * 1000)
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 200, response.json
    assert response.json["references"] == []


def test_a_text_over_1000_characters_is_400_naming_the_cap(api):
    assert _try(api, r"ORD-(\d+)", "y" * 1000).status_code == 200
    error = assert_error(_try(api, r"ORD-(\d+)", "y" * 1001), 400, param="text")
    assert "first 1000 characters of a remittance" in error["message"]


def test_a_lone_surrogate_in_the_text_is_read_not_a_500(api):
    body = json.dumps({"pattern": r"ORD-(\d+)", "text": "\ud800 ORD-7"})  # ASCII escapes
    response = api.post(
        "reconciliation/test_pattern", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200, response.json
    assert response.json["references"] == ["7"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"pattern": "x"}, "text"),
        ({"text": "x"}, "pattern"),
        ({"pattern": "x", "text": "y" * 1001}, "text"),
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
