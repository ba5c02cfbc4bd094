"""Regex validators match the whole value: a trailing newline never slips through.

``re.match`` with ``^…$`` accepts "valid\\n" (``$`` also matches before a final newline),
so every validator of that shape let a newline through; each kind is tried here.
"""

from __future__ import annotations

import re

import pytest
from marshmallow import ValidationError

from payymo import ids
from payymo.api.fields import FullMatch
from tests.helpers import invoice_body
from tests.reconciliation_helpers import assert_error


def _account(api, name: str = "Main") -> str:
    response = api.post("bank_accounts", json={"name": name, "currency": "EUR"})
    assert response.status_code == 201, response.json
    return response.json["id"]


def _line(**overrides) -> dict:
    return {"booking_date": "2026-03-02", "amount": 100, "currency": "EUR", **overrides}


# (kind of validator, request, param): each request is valid but for its trailing "\n"
CASES = [
    (
        "bank account name (NAME)",
        lambda api: api.post("bank_accounts", json={"name": "Main\n", "currency": "EUR"}),
        "name",
    ),
    (
        "invoice external_id (EXTERNAL_ID)",
        lambda api: api.post("invoices", json=invoice_body("ERP-1\n")),
        "external_id",
    ),
    (
        "metadata key",
        lambda api: api.post("invoices", json=invoice_body(metadata={"plan\n": "gold"})),
        "metadata",
    ),
    (
        "single-line text (Line / NO_CONTROL)",
        lambda api: api.post(
            "transactions/import",
            json={"account_id": _account(api), "transactions": [_line(id="line-1\n")]},
        ),
        "transactions[0].id",
    ),
    (
        "object id in a body (OBJECT_ID)",
        lambda api: api.post(
            "reconciliation/matches",
            json={
                "transaction_id": ids.new_id("txn") + "\n",
                "allocations": [{"invoice_id": ids.new_id("inv"), "amount": 1}],
            },
        ),
        "transaction_id",
    ),
    (
        "object id in a query (OBJECT_ID)",
        lambda api: api.get(
            "reconciliation/suggestions", query_string={"transaction_id": "txn_1\n"}
        ),
        "transaction_id",
    ),
    (
        "event type filter",
        lambda api: api.get("events", query_string={"type": "invoice.created\n"}),
        "type",
    ),
    (
        "tenant reference pattern",
        lambda api: api.patch("tenant", json={"settings": {"reference_pattern": "INV-\\d+\n"}}),
        "settings.reference_pattern",
    ),
]


@pytest.mark.parametrize(("kind", "send", "param"), CASES, ids=[c[0] for c in CASES])
def test_a_trailing_newline_is_400_in_the_envelope(api, kind, send, param):
    response = send(api)
    if response.status_code == 207:  # a batch answers per row
        [result] = response.json["results"]
        assert (result["status"], result["error"]["param"]) == ("error", param)
        return
    error = assert_error(response, 400, type_="invalid_request_error", param=param)
    assert error["code"] == "parameter_invalid"


def test_the_same_values_without_the_newline_are_fine(api):
    assert api.post("bank_accounts", json={"name": "Main", "currency": "EUR"}).status_code == 201
    body = invoice_body("ERP-1", metadata={"plan": "gold"})
    assert api.post("invoices", json=body).status_code == 201
    assert api.get("events", query_string={"type": "invoice.created"}).status_code == 200
    settings = {"reference_pattern": "INV-\\d+"}
    assert api.patch("tenant", json={"settings": settings}).status_code == 200


def test_a_name_may_start_with_a_space_but_not_be_blank(api):
    # "not blank" used re.match(r"\S"): it refused " Main" and meant "has a non-space"
    created = api.post("bank_accounts", json={"name": " Main", "currency": "EUR"})
    assert created.status_code == 201, created.json
    assert created.json["name"] == "Main"
    blank = api.post("bank_accounts", json={"name": "   ", "currency": "EUR"})
    assert_error(blank, 400, param="name")


def test_ids_with_a_trailing_newline_are_not_valid():
    value = ids.new_id("inv")
    assert ids.is_valid(value, "inv")
    assert not ids.is_valid(value + "\n", "inv")


def test_full_match_refuses_what_a_prefix_match_accepts():
    check = FullMatch(r"[a-z]+", error="letters only")
    assert check("abc") == "abc"
    for value in ["abc\n", "abc1", ""]:
        with pytest.raises(ValidationError):
            check(value)
    assert re.match(r"^[a-z]+$", "abc\n")  # what the old validators did
