"""Invoices API: create, get, list, update, void, batch."""

from __future__ import annotations

from tests.helpers import invoice_body


def test_create_and_get_invoice(api):
    created = api.post("invoices", json=invoice_body())
    assert created.status_code == 201, created.json
    body = created.json
    assert body["id"].startswith("inv_")
    assert body["amount_due"] == 12_300
    assert body["amount_paid"] == 0
    assert body["status"] == "open"
    assert body["amount_due_display"] == "123.00"
    fetched = api.get(f"invoices/{body['id']}")
    assert fetched.status_code == 200
    assert fetched.json == body


def test_duplicate_external_id_conflicts(api):
    assert api.post("invoices", json=invoice_body()).status_code == 201
    again = api.post("invoices", json=invoice_body())
    assert again.status_code == 409
    assert again.json["error"]["param"] == "external_id"
