"""Suggestions: list and filter, accept (apply, learn), reject (never again)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from payymo.db import utcnow
from payymo.models import AuditLog, Invoice, Match, MatchBlock, PayerMemory, Suggestion
from payymo.services.reconciliation import payer_memory
from payymo.tenancy import tenant_scope
from tests.helpers import ApiClient
from tests.reconciliation_helpers import Seed, assert_error, count_rows, selects_during

REASONS = [
    {"code": "reference_exact", "text": "INV-1042 found in remittance"},
    {"code": "amount_exact", "text": "amount equals the open amount"},
]


@pytest.fixture
def seed(session, tenant) -> Seed:
    return Seed(session, tenant.tenant_id)


@pytest.fixture
def case(seed):
    """One credit with two open suggestions: the right invoice first, a wrong one second."""
    right = seed.invoice("ERP-1", customer_reference="CUST-7")
    wrong = seed.invoice("ERP-2", number="INV-1043", customer_name="Umbrella plc")
    txn = seed.transaction(12_300, match_status="suggested")
    best = seed.suggestion(txn, [(right, 12_300)], confidence=0.86, reasons=REASONS)
    runner_up = seed.suggestion(txn, [(wrong, 12_300)], confidence=0.41, rank=2)
    return {"right": right, "wrong": wrong, "txn": txn, "best": best, "runner_up": runner_up}


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [s["id"] for s in response.json["data"]]


# --- listing -------------------------------------------------------------------------------


def test_a_suggestion_shows_its_allocations_confidence_and_reasons(api, case):
    body = api.get(f"reconciliation/suggestions/{case['best']}").json
    assert body == {
        "object": "suggestion",
        "id": case["best"],
        "transaction_id": case["txn"],
        "allocations": [
            {
                "invoice_id": case["right"],
                "invoice_number": "INV-1042",
                "customer_name": "Initech BV",
                "amount": 12_300,
                "amount_display": "123.00",
                "invoice_amount_remaining": 12_300,
                "invoice_amount_remaining_display": "123.00",
                "charge": 0,
                "charge_display": "0.00",
            }
        ],
        "currency": "EUR",
        "confidence": 0.86,
        "reasons": REASONS,
        "status": "open",
        "rank": 1,
        "created_at": body["created_at"],
        "decided_at": None,
        "decided_by": None,
        "match_id": None,
    }
    assert body["created_at"].endswith("+00:00")
    listed = api.get("reconciliation/suggestions").json
    assert listed["object"] == "list"
    assert [s["id"] for s in listed["data"]] == [case["runner_up"], case["best"]]
    assert listed["data"][1] == body


def test_each_suggested_line_shows_its_invoice(api, seed, case):
    credit = seed.transaction(17_300)
    split = seed.suggestion(credit, [(case["wrong"], 5_000), (case["right"], 12_300)])
    body = api.get(f"reconciliation/suggestions/{split}").json
    shown = [
        (line["invoice_number"], line["customer_name"], line["invoice_amount_remaining_display"])
        for line in body["allocations"]
    ]
    assert shown == [("INV-1043", "Umbrella plc", "123.00"), ("INV-1042", "Initech BV", "123.00")]
    rejected = api.post(f"reconciliation/suggestions/{case['runner_up']}/reject").json
    assert rejected["allocations"][0]["customer_name"] == "Umbrella plc"


def test_a_page_of_suggestions_reads_its_invoices_in_one_query(api, seed, connection):
    def page():
        response = api.get("reconciliation/suggestions", query_string={"limit": 100})
        assert response.status_code == 200, response.json
        return response.json["data"]

    seed.suggestion(seed.transaction(100), [(seed.invoice("ERP-0", number="N-0"), 100)])
    shown, few = selects_during(connection, page)
    assert len(shown) == 1
    for i in range(1, 8):
        a = seed.invoice(f"ERP-{i}a", number=f"N-{i}a", customer_name=f"Customer {i}")
        b = seed.invoice(f"ERP-{i}b", number=f"N-{i}b", customer_name=f"Customer {i}")
        seed.suggestion(seed.transaction(200), [(a, 100), (b, 100)])
    shown, many = selects_during(connection, page)
    assert len(shown) == 8
    assert len(many) == len(few)
    assert sum(" FROM invoices " in " ".join(s.split()) for s in many) == 1
    numbers = [[line["invoice_number"] for line in s["allocations"]] for s in shown]
    assert numbers[0] == ["N-7a", "N-7b"] and numbers[-1] == ["N-0"]


def test_suggestions_filter_by_transaction_invoice_and_status(api, seed, case):
    other_txn = seed.transaction(5_000)
    both = seed.suggestion(
        other_txn,
        [(case["wrong"], 2_000), (case["right"], 3_000)],
    )
    by_txn = api.get("reconciliation/suggestions", query_string={"transaction_id": other_txn})
    assert _ids(by_txn) == [both]
    by_right = api.get("reconciliation/suggestions", query_string={"invoice_id": case["right"]})
    assert _ids(by_right) == [both, case["best"]]
    by_wrong = api.get("reconciliation/suggestions", query_string={"invoice_id": case["wrong"]})
    assert _ids(by_wrong) == [both, case["runner_up"]]
    api.post(f"reconciliation/suggestions/{case['runner_up']}/reject")
    rejected = api.get("reconciliation/suggestions", query_string={"status": "rejected"})
    assert _ids(rejected) == [case["runner_up"]]
    open_for_wrong = api.get(
        "reconciliation/suggestions",
        query_string={"invoice_id": case["wrong"], "status": "open"},
    )
    assert _ids(open_for_wrong) == [both]


def test_the_invoice_filter_matches_whole_ids_only(api, case):
    right = case["right"]
    # "_" and "%" are LIKE wildcards, and a part of an id is a substring: none may match.
    for probe in (right[:-1] + "_", right[:-1] + "%", right[:-1], right[1:], "inv_%"):
        found = api.get("reconciliation/suggestions", query_string={"invoice_id": probe})
        assert _ids(found) == [], probe


def test_suggestions_paginate(api, case):
    first = api.get("reconciliation/suggestions", query_string={"limit": 1}).json
    assert first["has_more"] is True and [s["id"] for s in first["data"]] == [case["runner_up"]]
    rest = api.get(
        "reconciliation/suggestions",
        query_string={"limit": 1, "starting_after": first["next_cursor"]},
    ).json
    assert rest["has_more"] is False and [s["id"] for s in rest["data"]] == [case["best"]]


@pytest.mark.parametrize(
    ("query", "param"),
    [({"status": "maybe"}, "status"), ({"colour": "red"}, "colour"), ({"limit": 101}, "limit")],
)
def test_suggestions_list_rejects_bad_filters(api, query, param):
    assert_error(api.get("reconciliation/suggestions", query_string=query), 400, param=param)


def test_another_tenants_suggestions_are_invisible(api, other_api, case):
    assert other_api.get("reconciliation/suggestions").json["data"] == []
    assert other_api.get(f"reconciliation/suggestions/{case['best']}").status_code == 404
    for action in ("accept", "reject"):
        response = other_api.post(f"reconciliation/suggestions/{case['best']}/{action}")
        assert_error(response, 404, type_="not_found")
    assert api.get(f"reconciliation/suggestions/{case['best']}").json["status"] == "open"


# --- accept --------------------------------------------------------------------------------


def test_accept_applies_the_suggestion_as_a_match(api, tenant, session, case):
    response = api.post(f"reconciliation/suggestions/{case['best']}/accept")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "accepted"
    assert body["decided_by"] == tenant.key_id
    assert body["decided_at"] is not None
    [line] = body["allocations"]  # the invoice as the accepted match leaves it
    assert (line["invoice_number"], line["invoice_amount_remaining"]) == ("INV-1042", 0)
    match = api.get(f"reconciliation/matches/{body['match_id']}").json
    assert match["method"] == "suggestion"
    assert match["suggestion_id"] == case["best"]
    assert match["confidence"] == 0.86
    assert match["reasons"] == REASONS
    assert match["created_by"] == tenant.key_id
    assert match["allocations"][0]["invoice_id"] == case["right"]
    assert api.get(f"invoices/{case['right']}").json["status"] == "paid"
    assert api.get(f"transactions/{case['txn']}").json["match_status"] == "matched"
    # The transaction is fully matched: its other open suggestion is expired.
    runner_up = api.get(f"reconciliation/suggestions/{case['runner_up']}").json
    assert runner_up["status"] == "expired"
    assert runner_up["decided_by"] == tenant.key_id
    assert count_rows(AuditLog, resource_id=case["best"]) == 1


def test_accept_teaches_payer_memory(api, tenant, session, case):
    api.post(f"reconciliation/suggestions/{case['best']}/accept")
    with tenant_scope(tenant.tenant_id):
        memory = payer_memory.load(session)
    assert memory.by_iban == {"NL91ABNA0417164300": frozenset({"ref:CUST-7"})}
    assert memory.by_name == {"initech": frozenset({"ref:CUST-7"})}


def test_a_partial_accept_leaves_other_suggestions_open(api, tenant, session, seed):
    invoice = seed.invoice("ERP-1", amount_due=5_000)
    other = seed.invoice("ERP-2", amount_due=7_300)
    txn = seed.transaction(12_300)
    first = seed.suggestion(txn, [(invoice, 5_000)])
    second = seed.suggestion(txn, [(other, 7_300)], rank=2)
    assert api.post(f"reconciliation/suggestions/{first}/accept").status_code == 200
    shown = api.get(f"transactions/{txn}").json
    assert (shown["match_status"], shown["amount_unallocated"]) == ("partially_matched", 7_300)
    assert api.get(f"reconciliation/suggestions/{second}").json["status"] == "open"
    assert api.post(f"reconciliation/suggestions/{second}/accept").status_code == 200
    assert api.get(f"transactions/{txn}").json["match_status"] == "matched"


def test_accept_that_no_longer_fits_is_409_and_expires_the_suggestion(
    api, tenant, session, seed, case
):
    # Meanwhile someone matched the invoice by hand with another payment.
    elsewhere = seed.transaction(12_300)
    manual = api.post(
        "reconciliation/matches",
        json={
            "transaction_id": elsewhere,
            "allocations": [{"invoice_id": case["right"], "amount": 12_300}],
        },
    )
    assert manual.status_code == 201
    response = api.post(f"reconciliation/suggestions/{case['best']}/accept")
    error = assert_error(response, 409, type_="conflict", param="allocations[0].amount")
    assert error["code"] == "suggestion_expired"
    assert "no longer fits" in error["message"]
    state = seed.get(Suggestion, case["best"])
    assert (state.status, state.match_id) == ("expired", None)
    assert state.decided_by == tenant.key_id
    assert count_rows(Match) == 1  # only the manual one
    assert api.get(f"transactions/{case['txn']}").json["amount_allocated"] == 0
    # The decision that changed something is audited like any other.
    action = "POST /api/v1/reconciliation/suggestions/{suggestion_id}/accept"
    assert count_rows(AuditLog, action=action, status_code=409) == 1
    again = api.post(f"reconciliation/suggestions/{case['best']}/accept")
    assert assert_error(again, 409)["code"] == "suggestion_not_open"


def test_accept_of_a_voided_invoice_expires_the_suggestion(api, seed, case):
    seed.update(Invoice, case["right"], status="void", voided_at=utcnow())
    response = api.post(f"reconciliation/suggestions/{case['best']}/accept")
    assert assert_error(response, 409)["code"] == "suggestion_expired"
    assert seed.get(Suggestion, case["best"]).status == "expired"
    assert count_rows(Match) == 0


@pytest.mark.parametrize("status", ["accepted", "rejected", "expired"])
@pytest.mark.parametrize("action", ["accept", "reject"])
def test_a_decided_suggestion_cannot_be_decided_again(api, tenant, session, seed, status, action):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    sug = seed.suggestion(txn, [(invoice, 12_300)], status=status)
    error = assert_error(
        api.post(f"reconciliation/suggestions/{sug}/{action}"), 409, type_="conflict"
    )
    assert error["code"] == "suggestion_not_open"
    assert status in error["message"]
    assert count_rows(Match) == count_rows(MatchBlock) == 0
    assert seed.get(Suggestion, sug).status == status
    assert api.get(f"invoices/{invoice}").json["amount_paid"] == 0


def test_accept_of_an_unknown_suggestion_is_404(api):
    response = api.post("reconciliation/suggestions/sug_00000000000000000000000000/accept")
    assert_error(response, 404, type_="not_found")


# --- reject --------------------------------------------------------------------------------


def test_reject_blocks_the_pairs_and_records_who_decided(api, tenant, session, case):
    response = api.post(f"reconciliation/suggestions/{case['runner_up']}/reject")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["status"], body["match_id"]) == ("rejected", None)
    assert body["decided_by"] == tenant.key_id
    assert body["decided_at"] is not None
    with tenant_scope(tenant.tenant_id):
        blocks = [
            (b.transaction_id, b.invoice_id, b.reason) for b in session.scalars(select(MatchBlock))
        ]
    assert blocks == [(case["txn"], case["wrong"], "rejected")]
    # Nothing was paid, and the other suggestion is untouched.
    assert api.get(f"invoices/{case['wrong']}").json["amount_paid"] == 0
    assert api.get(f"reconciliation/suggestions/{case['best']}").json["status"] == "open"
    assert api.get(f"transactions/{case['txn']}").json["match_status"] == "suggested"
    assert count_rows(PayerMemory) == 0


def test_rejecting_the_last_open_suggestion_unmarks_the_transaction(api, case):
    api.post(f"reconciliation/suggestions/{case['runner_up']}/reject")
    api.post(f"reconciliation/suggestions/{case['best']}/reject")
    assert api.get(f"transactions/{case['txn']}").json["match_status"] == "unmatched"


def test_reject_expires_other_open_suggestions_naming_a_blocked_pair(api, seed, case):
    combined = seed.suggestion(
        case["txn"],
        [(case["wrong"], 6_000), (case["right"], 6_300)],
        rank=3,
    )
    api.post(f"reconciliation/suggestions/{case['runner_up']}/reject")
    assert api.get(f"reconciliation/suggestions/{combined}").json["status"] == "expired"
    assert api.get(f"reconciliation/suggestions/{case['best']}").json["status"] == "open"


def test_a_rejected_pair_can_still_be_matched_by_hand(api, case):
    api.post(f"reconciliation/suggestions/{case['runner_up']}/reject")
    manual = api.post(
        "reconciliation/matches",
        json={
            "transaction_id": case["txn"],
            "allocations": [{"invoice_id": case["wrong"], "amount": 12_300}],
        },
    )
    assert manual.status_code == 201, manual.json


def test_accept_and_reject_need_the_write_scope(app, make_tenant):
    reader = make_tenant("Reader Ltd", scopes=["reconciliation:read"])
    client = ApiClient(app.test_client(), reader.secret)
    assert client.get("reconciliation/suggestions").status_code == 200
    for action in ("accept", "reject"):
        response = client.post(
            f"reconciliation/suggestions/sug_00000000000000000000000000/{action}"
        )
        assert_error(response, 403, type_="authorization_error")
