"""A float or numeric-string amount is refused with a message that teaches minor units."""

from __future__ import annotations

import pytest

from tests.helpers import invoice_body


def _refused(response, param: str) -> str:
    """The 400 envelope's message, after checking it names ``param`` as invalid."""
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert (error["type"], error["code"], error["param"]) == (
        "invalid_request_error",
        "parameter_invalid",
        param,
    )
    return error["message"]


@pytest.mark.parametrize(
    ("amount", "currency", "says"),
    [
        (100.50, "GBP", "amounts are integers in minor units: 100.50 GBP is 10050"),
        (100.5, "gbp", "100.50 GBP is 10050"),
        (12.0, "EUR", "12.00 EUR is 1200"),
        ("100.50", "EUR", "100.50 EUR is 10050"),
        (1.005, "BHD", "1.005 BHD is 1005"),
        (100.0, "JPY", "100 JPY is 100"),
        (100.5, "JPY", "JPY has no minor units"),
        (100.505, "GBP", "GBP has 2 decimal places"),
        ("10050", "EUR", 'send 10050, not "10050"'),
    ],
)
def test_invoice_amounts_teach_the_rule_in_the_body_currency(api, amount, currency, says):
    response = api.post("invoices", json=invoice_body(amount_due=amount, currency=currency))
    message = _refused(response, "amount_due")
    assert message.startswith("Invalid amount_due: ")
    assert says in message


def test_without_a_currency_the_rule_is_shown_in_cents(api):
    invoice = api.post("invoices", json=invoice_body()).get_json()
    message = _refused(
        api.patch(f"invoices/{invoice['id']}", json={"amount_due": 100.5}), "amount_due"
    )
    assert "amounts are integers in minor units (cents): 100.50 is 10050" in message
    message = _refused(
        api.patch(f"invoices/{invoice['id']}", json={"amount_due": 0.001}), "amount_due"
    )
    assert "amounts are integers in minor units (cents): 100.50 is 10050" in message


def test_an_unknown_currency_beside_it_gives_the_generic_rule(api):
    response = api.post("invoices", json=invoice_body(amount_due=100.5, currency="XYZ"))
    assert response.status_code == 400
    by_param = {e["param"]: e["message"] for e in response.get_json()["error"]["errors"]}
    assert "(cents): 100.50 is 10050" in by_param["amount_due"]
    assert "ISO 4217" in by_param["currency"]


@pytest.mark.parametrize("amount", ["12,30", "1e5", "abc", "", "€12"])
def test_other_strings_are_not_valid_integers_and_still_teach(api, amount):
    message = _refused(api.post("invoices", json=invoice_body(amount_due=amount)), "amount_due")
    assert "Not a valid integer" in message
    assert "minor units" in message


def test_integers_still_work_and_other_types_keep_their_messages(api):
    assert api.post("invoices", json=invoice_body(amount_due=10_050)).status_code == 201
    message = _refused(api.post("invoices", json=invoice_body("E2", amount_due=True)), "amount_due")
    assert "Not a valid integer" in message
    message = _refused(api.post("invoices", json=invoice_body("E3", amount_due=0)), "amount_due")
    assert "greater than or equal to 1" in message


def test_batch_rows_use_their_own_currency(api):
    response = api.post(
        "invoices/batch",
        json={
            "invoices": [
                {"external_id": "ERP-1", "amount_due": 1.005, "currency": "BHD"},
                {"external_id": "ERP-2", "amount_due": 99.99, "currency": "usd"},
            ]
        },
    )
    assert response.status_code == 207
    errors = [row["error"] for row in response.get_json()["results"]]
    assert errors[0]["param"] == "invoices[0].amount_due"
    assert "1.005 BHD is 1005" in errors[0]["message"]
    assert errors[1]["param"] == "invoices[1].amount_due"
    assert "99.99 USD is 9999" in errors[1]["message"]
    assert {e["code"] for e in errors} == {"parameter_invalid"}


def test_import_rows_use_their_own_currency(api):
    account = api.post("bank_accounts", json={"name": "Main", "currency": "JPY"}).get_json()
    line = {"booking_date": "2026-11-20", "currency": "JPY"}
    response = api.post(
        "transactions/import",
        json={
            "account_id": account["id"],
            "transactions": [line | {"amount": -1500.5}, line | {"amount": 1500}],
        },
    )
    assert response.status_code == 207
    failed, created = response.get_json()["results"]
    assert created["status"] == "created"
    assert failed["error"]["param"] == "transactions[0].amount"
    assert "JPY has no minor units" in failed["error"]["message"]


def test_match_allocations_and_settings_teach_the_generic_rule(api):
    body = {"transaction_id": "txn_x", "allocations": [{"invoice_id": "inv_x", "amount": 12.3}]}
    message = _refused(api.post("reconciliation/matches", json=body), "allocations[0].amount")
    assert "(cents): 12.30 is 1230" in message
    settings = {"settings": {"overpayment_tolerance": 0.5}}
    message = _refused(api.patch("tenant", json=settings), "settings.overpayment_tolerance")
    assert "(cents): 0.50 is 50" in message
    assert api.patch("tenant", json={"settings": {"overpayment_tolerance": 0}}).status_code == 200


def test_query_amounts_read_digits_and_teach_on_decimals(api):
    assert api.get("transactions?amount_min=-500&amount_max=10050").status_code == 200
    message = _refused(api.get("transactions?amount_min=100.50&currency=eur"), "amount_min")
    assert "100.50 EUR is 10050" in message
    message = _refused(api.get("transactions/stats?amount_max=2.5"), "amount_max")
    assert "(cents): 2.50 is 250" in message
    assert "Not a valid integer" in _refused(api.get("transactions?amount_min=ten"), "amount_min")
