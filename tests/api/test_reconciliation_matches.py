"""Manual matches, the match list, and reversal through /reconciliation/matches."""

from __future__ import annotations

import pytest

from payymo.db import utcnow
from payymo.models import Allocation, AuditLog, Event, Invoice, Match, PayerMemory, Transaction
from tests.helpers import ApiClient
from tests.reconciliation_helpers import Seed, assert_error, count_rows, selects_during


@pytest.fixture
def seed(session, tenant) -> Seed:
    return Seed(session, tenant.tenant_id)


@pytest.fixture
def other_seed(session, other_tenant) -> Seed:
    return Seed(session, other_tenant.tenant_id)


def _match(api, transaction_id, *lines):
    return api.post(
        "reconciliation/matches",
        json={
            "transaction_id": transaction_id,
            "allocations": [{"invoice_id": i, "amount": a} for i, a in lines],
        },
    )


def test_a_manual_match_pays_the_invoice_and_names_who_made_it(api, tenant, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    response = _match(api, txn, (invoice, 12_300))
    assert response.status_code == 201, response.json
    body = response.json
    assert body["object"] == "match"
    assert body["id"].startswith("mat_")
    assert body["transaction_id"] == txn
    assert body["allocations"] == [
        {
            "invoice_id": invoice,
            "invoice_number": "INV-1042",
            "customer_name": "Initech BV",
            "amount": 12_300,
            "amount_display": "123.00",
            "invoice_amount_remaining": 0,
            "invoice_amount_remaining_display": "0.00",
            "charge": 0,
            "charge_display": "0.00",
        }
    ]
    assert (body["amount"], body["currency"]) == (12_300, "EUR")
    assert (body["method"], body["status"]) == ("manual", "active")
    assert body["confidence"] is None and body["reasons"] == []
    assert body["created_by"] == tenant.key_id
    assert body["reversed_at"] is None
    assert api.get(f"reconciliation/matches/{body['id']}").json == body
    assert api.get(f"invoices/{invoice}").json["status"] == "paid"
    shown = api.get(f"transactions/{txn}").json
    assert (shown["match_status"], shown["amount_unallocated"]) == ("matched", 0)


def test_a_manual_match_can_split_a_credit_over_invoices(api, seed):
    a = seed.invoice("ERP-A", amount_due=4_000)
    b = seed.invoice("ERP-B", amount_due=9_000)
    txn = seed.transaction(10_000)
    response = _match(api, txn, (a, 4_000), (b, 6_000))
    assert response.status_code == 201, response.json
    assert api.get(f"invoices/{a}").json["status"] == "paid"
    partly = api.get(f"invoices/{b}").json
    assert (partly["status"], partly["amount_paid"]) == ("partially_paid", 6_000)


def test_a_manual_match_is_audited_and_emits_events(api, tenant, seed, session):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    response = _match(api, txn, (invoice, 12_300))
    assert response.status_code == 201
    assert count_rows(AuditLog, action="POST /api/v1/reconciliation/matches") == 1
    assert count_rows(AuditLog, resource_id=response.json["id"]) == 1
    assert count_rows(Event, type="transaction.matched") == 1
    assert count_rows(Event, type="invoice.paid") == 1


def test_a_manual_match_teaches_payer_memory(api, seed):
    invoice = seed.invoice("ERP-1", customer_reference="CUST-7")
    txn = seed.transaction(12_300, counterparty_iban="NL91 ABNA 0417 1643 00")
    assert _match(api, txn, (invoice, 12_300)).status_code == 201
    assert count_rows(PayerMemory, kind="iban", value="NL91ABNA0417164300") == 1
    assert count_rows(PayerMemory, kind="name", value="initech", customer_key="ref:CUST-7") == 1


# --- bad input: a clear 4xx naming the param, and nothing written --------------------------


def _assert_nothing_written(api, invoice_ids, txn_id):
    assert count_rows(Match) == count_rows(Allocation) == 0
    assert count_rows(PayerMemory) == 0
    assert count_rows(Event, type="transaction.matched") == 0
    assert count_rows(AuditLog, action="POST /api/v1/reconciliation/matches", status_code=201) == 0
    for invoice_id in invoice_ids:
        assert api.get(f"invoices/{invoice_id}").json["amount_paid"] == 0
    shown = api.get(f"transactions/{txn_id}").json
    assert shown["amount_allocated"] == 0


def test_amounts_that_exceed_the_transaction_are_refused(api, seed):
    a = seed.invoice("ERP-A", amount_due=5_000)
    b = seed.invoice("ERP-B", amount_due=5_000)
    txn = seed.transaction(8_000)
    error = assert_error(_match(api, txn, (a, 5_000), (b, 5_000)), 400, param="allocations")
    assert error["code"] == "amount_exceeds_transaction"
    _assert_nothing_written(api, [a, b], txn)


def test_an_amount_beyond_the_invoices_open_amount_is_refused(api, seed):
    invoice = seed.invoice("ERP-1", amount_due=5_000)
    txn = seed.transaction(8_000)
    error = assert_error(_match(api, txn, (invoice, 8_000)), 400, param="allocations[0].amount")
    assert error["code"] == "amount_exceeds_open"
    _assert_nothing_written(api, [invoice], txn)


def test_an_invoice_in_another_currency_is_refused(api, seed):
    eur = seed.invoice("ERP-EUR", amount_due=1_000)
    usd = seed.invoice("ERP-USD", amount_due=1_000, currency="USD")
    txn = seed.transaction(2_000)
    error = assert_error(
        _match(api, txn, (eur, 1_000), (usd, 1_000)),
        400,
        param="allocations[1].invoice_id",
    )
    assert error["code"] == "currency_mismatch"
    _assert_nothing_written(api, [eur, usd], txn)


def test_a_void_invoice_is_refused(api, seed):
    invoice = seed.invoice("ERP-1")
    seed.update(Invoice, invoice, status="void", voided_at=utcnow())
    txn = seed.transaction(12_300)
    error = assert_error(
        _match(api, txn, (invoice, 12_300)),
        409,
        type_="conflict",
        param="allocations[0].invoice_id",
    )
    assert error["code"] == "invoice_void"
    _assert_nothing_written(api, [invoice], txn)


def test_another_tenants_transaction_is_a_404_naming_it(api, other_api, seed, other_seed):
    invoice = seed.invoice("ERP-1")
    mine = seed.transaction(12_300)
    theirs = other_seed.transaction(12_300)
    error = assert_error(
        _match(api, theirs, (invoice, 12_300)),
        404,
        type_="not_found",
        param="transaction_id",
    )
    assert error["code"] == "resource_missing"
    _assert_nothing_written(api, [invoice], mine)
    assert other_api.get(f"transactions/{theirs}").json["amount_allocated"] == 0


def test_another_tenants_invoice_is_a_404_naming_its_line(api, other_api, seed, other_seed):
    mine = seed.invoice("ERP-1", amount_due=1_000)
    theirs = other_seed.invoice("ERP-1", amount_due=1_000)
    txn = seed.transaction(2_000)
    assert_error(
        _match(api, txn, (mine, 1_000), (theirs, 1_000)),
        404,
        type_="not_found",
        param="allocations[1].invoice_id",
    )
    _assert_nothing_written(api, [mine], txn)
    assert other_api.get(f"invoices/{theirs}").json["amount_paid"] == 0


def test_a_debit_transaction_is_refused(api, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(-12_300)
    error = assert_error(_match(api, txn, (invoice, 12_300)), 400, param="transaction_id")
    assert error["code"] == "transaction_not_credit"
    _assert_nothing_written(api, [invoice], txn)


def test_an_ignored_transaction_is_refused(api, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    seed.update(Transaction, txn, match_status="ignored")
    assert_error(_match(api, txn, (invoice, 12_300)), 409, param="transaction_id")
    _assert_nothing_written(api, [invoice], txn)


def test_the_same_invoice_twice_is_refused(api, seed):
    invoice = seed.invoice("ERP-1", amount_due=10_000)
    txn = seed.transaction(10_000)
    assert_error(
        _match(api, txn, (invoice, 5_000), (invoice, 5_000)),
        400,
        param="allocations[1].invoice_id",
    )
    _assert_nothing_written(api, [invoice], txn)


@pytest.mark.parametrize(
    ("allocations", "param"),
    [
        ([], "allocations"),
        ([{"invoice_id": "inv_x", "amount": 0}], "allocations[0].amount"),
        ([{"invoice_id": "inv_x", "amount": -5}], "allocations[0].amount"),
        ([{"invoice_id": "inv_x", "amount": 12.5}], "allocations[0].amount"),
        ([{"invoice_id": "inv_x", "amount": "100"}], "allocations[0].amount"),
        ([{"invoice_id": "inv_x"}], "allocations[0].amount"),
        ([{"amount": 100}], "allocations[0].invoice_id"),
        ([{"invoice_id": "inv_x", "amount": 1, "note": "x"}], "allocations[0].note"),
        ([{"invoice_id": f"inv_{i}", "amount": 1} for i in range(51)], "allocations"),
    ],
)
def test_malformed_allocations_are_400_naming_the_field(api, seed, allocations, param):
    txn = seed.transaction(12_300)
    response = api.post(
        "reconciliation/matches", json={"transaction_id": txn, "allocations": allocations}
    )
    assert_error(response, 400, param=param)
    assert count_rows(Match) == 0


def test_an_unknown_body_field_is_refused(api, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    body = {
        "transaction_id": txn,
        "allocations": [{"invoice_id": invoice, "amount": 12_300}],
        "method": "auto",
    }
    assert_error(api.post("reconciliation/matches", json=body), 400, param="method")
    assert count_rows(Match) == 0


def test_a_missing_transaction_id_is_refused(api):
    response = api.post(
        "reconciliation/matches", json={"allocations": [{"invoice_id": "inv_x", "amount": 1}]}
    )
    assert_error(response, 400, param="transaction_id")


# --- reversal ------------------------------------------------------------------------------


def test_delete_reverses_the_match_and_keeps_its_history(api, tenant, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    match = _match(api, txn, (invoice, 12_300)).json
    response = api.delete(f"reconciliation/matches/{match['id']}")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["id"], body["status"]) == (match["id"], "reversed")
    assert body["reversed_by"] == tenant.key_id
    assert body["reversed_at"] is not None
    # The lines are the same; the invoice, shown as it is now, owes its amount again.
    assert [line["invoice_amount_remaining"] for line in match["allocations"]] == [0]
    assert body["allocations"] == [
        {**line, "invoice_amount_remaining": 12_300, "invoice_amount_remaining_display": "123.00"}
        for line in match["allocations"]
    ]
    assert api.get(f"invoices/{invoice}").json["status"] == "open"
    shown = api.get(f"transactions/{txn}").json
    assert (shown["match_status"], shown["amount_unallocated"]) == ("unmatched", 12_300)
    assert api.get(f"reconciliation/matches/{match['id']}").json == body
    assert count_rows(Event, type="match.reversed") == 1
    assert count_rows(AuditLog, action="DELETE /api/v1/reconciliation/matches/{match_id}") == 1


def test_delete_is_idempotent(api, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    match = _match(api, txn, (invoice, 12_300)).json
    first = api.delete(f"reconciliation/matches/{match['id']}")
    second = api.delete(f"reconciliation/matches/{match['id']}")
    assert first.status_code == second.status_code == 200
    assert first.json == second.json
    assert count_rows(Event, type="match.reversed") == 1
    assert api.get(f"invoices/{invoice}").json["amount_paid"] == 0
    assert api.get(f"transactions/{txn}").json["amount_allocated"] == 0


def test_a_reversed_pair_can_still_be_matched_by_hand(api, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    match = _match(api, txn, (invoice, 12_300)).json
    api.delete(f"reconciliation/matches/{match['id']}")
    again = _match(api, txn, (invoice, 12_300))
    assert again.status_code == 201, again.json
    assert again.json["id"] != match["id"]
    assert api.get(f"invoices/{invoice}").json["amount_paid"] == 12_300


def test_reversing_a_manual_match_takes_back_what_it_taught(api, seed):
    invoice = seed.invoice("ERP-1", customer_reference="CUST-7")
    txn = seed.transaction(12_300)
    match = _match(api, txn, (invoice, 12_300)).json
    assert count_rows(PayerMemory) == 2
    api.delete(f"reconciliation/matches/{match['id']}")
    assert count_rows(PayerMemory) == 0


def test_delete_of_an_unknown_match_is_404(api):
    response = api.delete("reconciliation/matches/mat_00000000000000000000000000")
    assert_error(response, 404, type_="not_found")


# --- listing -------------------------------------------------------------------------------


@pytest.fixture
def three_matches(api, seed):
    a = seed.invoice("ERP-A", amount_due=1_000)
    b = seed.invoice("ERP-B", amount_due=2_000)
    t1 = seed.transaction(1_000)
    t2 = seed.transaction(3_000)
    m1 = _match(api, t1, (a, 1_000)).json["id"]
    m2 = _match(api, t2, (b, 1_000)).json["id"]
    m3 = _match(api, t2, (b, 1_000)).json["id"]
    api.delete(f"reconciliation/matches/{m2}")
    return {"a": a, "b": b, "t1": t1, "t2": t2, "m1": m1, "m2": m2, "m3": m3}


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [m["id"] for m in response.json["data"]]


def test_matches_list_newest_first_with_filters(api, three_matches):
    m = three_matches
    assert _ids(api.get("reconciliation/matches")) == [m["m3"], m["m2"], m["m1"]]
    by_txn = api.get("reconciliation/matches", query_string={"transaction_id": m["t2"]})
    assert _ids(by_txn) == [m["m3"], m["m2"]]
    by_invoice = api.get("reconciliation/matches", query_string={"invoice_id": m["a"]})
    assert _ids(by_invoice) == [m["m1"]]
    reversed_ = api.get("reconciliation/matches", query_string={"status": "reversed"})
    assert _ids(reversed_) == [m["m2"]]
    both = api.get(
        "reconciliation/matches", query_string={"invoice_id": m["b"], "status": "active"}
    )
    assert _ids(both) == [m["m3"]]
    assert _ids(api.get("reconciliation/matches", query_string={"method": "auto"})) == []
    assert len(_ids(api.get("reconciliation/matches", query_string={"method": "manual"}))) == 3


def test_matches_list_paginates(api, three_matches):
    first = api.get("reconciliation/matches", query_string={"limit": 2}).json
    assert first["object"] == "list" and first["has_more"] is True
    rest = api.get(
        "reconciliation/matches",
        query_string={"limit": 2, "starting_after": first["next_cursor"]},
    ).json
    assert rest["has_more"] is False
    assert [m["id"] for m in rest["data"]] == [three_matches["m1"]]


@pytest.mark.parametrize(
    ("query", "param"),
    [({"method": "robot"}, "method"), ({"status": "gone"}, "status"), ({"limit": 0}, "limit")],
)
def test_matches_list_rejects_bad_filters(api, query, param):
    assert_error(api.get("reconciliation/matches", query_string=query), 400, param=param)


def test_each_line_shows_its_invoice_as_it_is_now(api, seed):
    plain = seed.invoice("ERP-A", amount_due=4_000, number=None, customer_name=None)
    partly = seed.invoice("ERP-B", number="RE-2026-7", customer_name="Hooli Inc", currency="JPY")
    txn = seed.transaction(4_000)
    yen = seed.transaction(5_000, currency="JPY")
    first = _match(api, txn, (plain, 4_000)).json
    second = _match(api, yen, (partly, 5_000)).json
    assert first["allocations"][0] | {"invoice_id": None} == {
        "invoice_id": None,
        "invoice_number": None,
        "customer_name": None,
        "amount": 4_000,
        "amount_display": "40.00",
        "charge": 0,
        "charge_display": "0.00",
        "invoice_amount_remaining": 0,
        "invoice_amount_remaining_display": "0.00",
    }
    [line] = second["allocations"]
    assert (line["invoice_number"], line["customer_name"]) == ("RE-2026-7", "Hooli Inc")
    assert (line["amount_display"], line["invoice_amount_remaining"]) == ("5000", 7_300)
    assert line["invoice_amount_remaining_display"] == "7300"  # in the match's currency
    # Paying the rest changes what the earlier match shows: the open amount is now's.
    rest = seed.transaction(7_300, currency="JPY")
    assert _match(api, rest, (partly, 7_300)).status_code == 201
    again = api.get(f"reconciliation/matches/{second['id']}").json["allocations"][0]
    assert again["invoice_amount_remaining"] == 0


def test_a_page_of_matches_reads_its_invoices_in_one_query(api, seed, connection):
    def page():
        response = api.get("reconciliation/matches", query_string={"limit": 100})
        assert response.status_code == 200, response.json
        return response.json["data"]

    for i in range(2):
        _match(api, seed.transaction(100), (seed.invoice(f"ERP-{i}", number=f"N-{i}"), 100))
    shown, few = selects_during(connection, page)
    assert len(shown) == 2
    for i in range(2, 8):
        a = seed.invoice(f"ERP-{i}a", number=f"N-{i}a", customer_name=f"Customer {i}")
        b = seed.invoice(f"ERP-{i}b", number=f"N-{i}b", customer_name=f"Customer {i}")
        _match(api, seed.transaction(200), (a, 100), (b, 100))
    shown, many = selects_during(connection, page)
    assert len(shown) == 8
    assert len(many) == len(few)
    assert sum(" FROM invoices " in " ".join(s.split()) for s in many) == 1
    numbers = [[line["invoice_number"] for line in m["allocations"]] for m in shown]
    assert numbers[0] == ["N-7a", "N-7b"] and numbers[-1] == ["N-0"]
    assert {line["customer_name"] for line in shown[0]["allocations"]} == {"Customer 7"}


def test_another_tenants_match_is_404_and_unlisted(api, other_api, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction(12_300)
    match = _match(api, txn, (invoice, 12_300)).json
    assert other_api.get(f"reconciliation/matches/{match['id']}").status_code == 404
    assert other_api.delete(f"reconciliation/matches/{match['id']}").status_code == 404
    assert other_api.get("reconciliation/matches").json["data"] == []
    assert api.get(f"reconciliation/matches/{match['id']}").json["status"] == "active"


# --- scopes --------------------------------------------------------------------------------


def test_reading_needs_read_and_matching_needs_write_scope(app, make_tenant):
    reader = make_tenant("Reader Ltd", scopes=["reconciliation:read"])
    client = ApiClient(app.test_client(), reader.secret)
    assert client.get("reconciliation/matches").status_code == 200
    assert client.get("reconciliation").status_code == 200
    denied = client.post(
        "reconciliation/matches",
        json={"transaction_id": "txn_x", "allocations": [{"invoice_id": "inv_x", "amount": 1}]},
    )
    error = assert_error(denied, 403, type_="authorization_error")
    assert "reconciliation:write" in error["message"]
    outsider = make_tenant("Invoices Only", scopes=["invoices:read", "invoices:write"])
    other = ApiClient(app.test_client(), outsider.secret)
    assert_error(other.get("reconciliation/matches"), 403, type_="authorization_error")
