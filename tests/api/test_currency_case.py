"""Currency codes in any case: every input that takes one reads "eur" as EUR."""

from __future__ import annotations

import pytest

from tests.helpers import invoice_body


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _account(api, currency: str = "eur") -> dict:
    return _ok(api.post("bank_accounts", json={"name": "Main", "currency": currency}), 201)


def _line(**overrides) -> dict:
    line = {"booking_date": "2026-11-20", "amount": 12_300, "currency": "eur"}
    return line | overrides


def test_invoice_create_update_and_batch_store_upper_case(api):
    created = _ok(api.post("invoices", json=invoice_body(currency="eur")), 201)
    assert created["currency"] == "EUR"
    assert created["amount_due_display"] == "123.00"
    updated = _ok(api.patch(f"invoices/{created['id']}", json={"currency": "jPy"}))
    assert updated["currency"] == "JPY"
    assert updated["amount_due_display"] == "12300"
    batch = _ok(
        api.post(
            "invoices/batch",
            json={
                "invoices": [
                    {"external_id": "ERP-1", "amount_due": 100, "currency": "Gbp"},
                    {"external_id": "ERP-2", "amount_due": 100, "currency": "bhd"},
                ]
            },
        )
    )
    assert [row["status"] for row in batch["results"]] == ["updated", "created"]
    currencies = {i["external_id"]: i["currency"] for i in _ok(api.get("invoices"))["data"]}
    assert currencies == {"ERP-1": "GBP", "ERP-2": "BHD"}


def test_bank_account_and_import_rows_store_upper_case(api):
    account = _account(api, "eur")
    assert account["currency"] == "EUR"
    imported = _ok(
        api.post(
            "transactions/import",
            json={"account_id": account["id"], "transactions": [_line(currency="eur")]},
        )
    )
    [row] = imported["results"]
    assert row["status"] == "created", row
    assert _ok(api.get(f"transactions/{row['id']}"))["currency"] == "EUR"


def test_tenant_default_currency_is_stored_upper_case(api):
    assert _ok(api.patch("tenant", json={"default_currency": "gbp"}))["default_currency"] == "GBP"


@pytest.mark.parametrize(
    "path",
    [
        "invoices?currency=eur",
        "transactions?currency=eur",
        "transactions/stats?currency=eur",
        "bank_accounts?currency=eur",
    ],
)
def test_currency_filters_match_in_any_case(api, path):
    account = _account(api, "EUR")
    _ok(api.post("invoices", json=invoice_body(currency="EUR")), 201)
    _ok(
        api.post(
            "transactions/import", json={"account_id": account["id"], "transactions": [_line()]}
        )
    )
    body = _ok(api.get(path))
    if "data" in body:
        assert [item["currency"] for item in body["data"]] == ["EUR"]
    else:
        assert [bucket["currency"] for bucket in body["by_currency"]] == ["EUR"]
    upper = _ok(api.get(path.replace("=eur", "=EUR")))
    assert upper == body


@pytest.mark.parametrize("code", ["xyz", "Eur ", "e\u00fcr", "\u0131nr"])
def test_unknown_codes_are_still_refused_in_any_case(api, code):
    response = api.post("invoices", json=invoice_body(currency=code))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert (error["param"], error["code"]) == ("currency", "parameter_invalid")
    assert "ISO 4217" in error["message"]
    assert api.get(f"invoices?currency={code}").status_code == 400
