"""Every amount a response shows comes with its ``*_display`` string, and a void invoice owes 0.

Which integers are money is decided by name, and every integer a response can carry must
be classified one way or the other, so a new field cannot slip through unclassified:

- money: ``amount`` and ``amount_*``, names ending in ``_amount``, ``_sum``, ``_total``,
  ``_balance``, and any integer whose description speaks of minor units;
- not money: counts (``count``, ``*_count``, ``counts`` maps, the fields of ``*Counts``
  schemas, ``open_suggestions``), positions (``index``, ``rank``, an attempt's
  ``number``), ``attempts``, durations (in days, ``duration_ms``) and HTTP status codes.

Money shown without a currency cannot be displayed; ``overpayment_tolerance`` and
``charge_tolerance`` are the two such amounts (each applies in every credit's own
currency), and are listed as such.
"""

from __future__ import annotations

import re

import pytest
from marshmallow import fields

from payymo.api.fields import Amount
from tasks.reconcile import reconcile_tenant
from tests.helpers import input_schemas, invoice_body

_MONEY_NAME = re.compile(r"amount|amount_\w+|\w+_(amount|sum|total|balance)")
_COUNT_NAME = re.compile(
    r"count|counts|\w+_count|index|rank|attempts|\w+_days|open_suggestions|number|\w*status_code|duration_ms"
)
# Money in minor units of whichever currency it meets: there is no one currency to show.
NO_CURRENCY = {"overpayment_tolerance", "charge_tolerance"}


def is_money(name: str, description: str = "") -> bool:
    """True when an integer field named ``name`` holds minor units."""
    return (
        bool(_MONEY_NAME.fullmatch(name))
        or "minor units" in description.lower()
        or name in NO_CURRENCY
    )


def is_count(schema: str, name: str) -> bool:
    """True when an integer field is a count, position or other non-money number."""
    return bool(_COUNT_NAME.fullmatch(name)) or schema.endswith("Counts")


def _is_integer(prop: dict) -> bool:
    kind = prop.get("type")
    return kind == "integer" or (isinstance(kind, list) and "integer" in kind)


# --- the OpenAPI document -----------------------------------------------------------------


@pytest.fixture
def spec(app) -> dict:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


def _response_schemas(spec: dict) -> set[str]:
    """Every component schema a response can contain, nested ones included."""
    components = spec["components"]["schemas"]
    found: set[str] = set()

    def visit(node):
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                name = ref.rsplit("/", 1)[1]
                if name not in found:
                    found.add(name)
                    visit(components[name])
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    for item in spec["paths"].values():
        for operation in item.values():
            if isinstance(operation, dict):
                visit(operation.get("responses", {}))
    visit(spec["components"].get("responses", {}))
    return found


def test_every_money_integer_in_a_response_has_a_display_string(spec):
    components = spec["components"]["schemas"]
    schemas = _response_schemas(spec)
    assert {"InvoiceOut", "TransactionOut", "MatchOut", "SuggestionOut", "JobOut"} <= schemas
    assert {"StatsBucket", "CreditsByCurrency", "Amounts", "OpenInvoicesByCurrency"} <= schemas
    money, unclassified, missing = [], [], []
    for schema in sorted(schemas):
        properties = components[schema].get("properties", {})
        for name, prop in properties.items():
            if _is_integer(prop.get("additionalProperties") or {}) and not is_count(schema, name):
                unclassified.append(f"{schema}.{name} (a map of integers)")
            if not _is_integer(prop):
                continue
            if not is_money(name, prop.get("description", "")):
                if not is_count(schema, name):
                    unclassified.append(f"{schema}.{name}")
                continue
            money.append(f"{schema}.{name}")
            display = properties.get(f"{name}_display")
            if name in NO_CURRENCY:
                assert display is None, f"{schema}.{name} has no one currency to display in"
            elif display is None or display.get("type") != "string":
                missing.append(f"{schema}.{name}_display")
    assert not unclassified, f"decide whether these integers are money: {unclassified}"
    assert not missing, f"amounts without a display string: {missing}"
    for name in (
        "InvoiceOut.amount_remaining",
        "TransactionOut.amount_unallocated",
        "StatsBucket.amount_out",
        "SuggestionAllocationOut.amount",
        "Amounts.amount",
        "OpenInvoicesByCurrency.amount_remaining",
    ):
        assert name in money


def test_every_display_string_has_its_amount(spec):
    components = spec["components"]["schemas"]
    for schema in _response_schemas(spec):
        properties = components[schema].get("properties", {})
        for name in properties:
            if name.endswith("_display"):
                amount = properties.get(name.removesuffix("_display"))
                assert amount is not None and _is_integer(amount), f"{schema}.{name}"


def test_the_classification_is_precise():
    assert all(is_money(n) for n in ("amount", "amount_due", "amount_in", "fee_amount"))
    assert all(is_money(n) for n in ("credit_sum", "net_total", "opening_balance"))
    assert is_money("tolerance", "Signed minor units, inclusive")
    assert not any(is_money(n) for n in ("count", "credit_count", "rank", "index", "attempts"))
    assert not any(is_money(n) for n in ("amounts_seen", "date_window_days", "total"))
    assert is_count("MatchCounts", "auto") and not is_count("InvoiceOut", "amount_due")


# --- every amount input is an Amount field ------------------------------------------------


def test_every_money_input_is_read_by_the_amount_field(app):
    schemas = input_schemas()
    names = {cls.__name__ for cls in schemas}
    assert {"InvoiceCreate", "TransactionImportRow", "AllocationIn", "TenantSettingsIn"} <= names
    checked = []
    for cls in schemas:
        for name, field in cls._declared_fields.items():
            description = field.metadata.get("description", "")
            if isinstance(field, fields.Integer) and is_money(name, description):
                assert isinstance(field, Amount), f"{cls.__name__}.{name} is not an Amount"
                checked.append(f"{cls.__name__}.{name}")
    assert {
        "InvoiceCreate.amount_due",
        "TransactionImportRow.amount",
        "AllocationIn.amount",
        "TransactionFilters.amount_min",
        "TenantSettingsIn.overpayment_tolerance",
    } <= set(checked)


# --- responses and event payloads -----------------------------------------------------------


def _money_without_display(document, path: str = "") -> list[str]:
    """Paths of money integers in ``document`` without a ``*_display`` string beside them."""
    found = []
    if isinstance(document, dict):
        for key, value in document.items():
            here = f"{path}.{key}" if path else key
            if isinstance(value, int) and not isinstance(value, bool) and is_money(key):
                shown = document.get(f"{key}_display")
                if key not in NO_CURRENCY and not isinstance(shown, str):
                    found.append(here)
            found.extend(_money_without_display(value, here))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            found.extend(_money_without_display(value, f"{path}[{index}]"))
    return found


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_void_invoice_has_nothing_remaining(api):
    invoice = _ok(api.post("invoices", json=invoice_body()), 201)
    assert (invoice["amount_remaining"], invoice["amount_remaining_display"]) == (12_300, "123.00")
    voided = _ok(api.post(f"invoices/{invoice['id']}/void"))
    assert voided["status"] == "void"
    assert (voided["amount_remaining"], voided["amount_remaining_display"]) == (0, "0.00")
    assert voided["amount_due"] == 12_300
    fetched = _ok(api.get(f"invoices/{invoice['id']}"))
    assert (fetched["amount_remaining"], fetched["amount_remaining_display"]) == (0, "0.00")
    [event] = _ok(api.get("events?type=invoice.voided"))["data"]
    assert event["data"]["object"]["amount_remaining"] == 0


def test_displays_follow_each_currency_exponent(api):
    for external_id, amount, currency, shown in (
        ("EUR-1", 12_345, "EUR", "123.45"),
        ("JPY-1", 12_345, "JPY", "12345"),
        ("BHD-1", 12_345, "BHD", "12.345"),
    ):
        body = invoice_body(external_id, amount_due=amount, currency=currency)
        invoice = _ok(api.post("invoices", json=body), 201)
        assert invoice["amount_due_display"] == shown
        assert invoice["amount_remaining_display"] == shown


def _account(api) -> str:
    return _ok(api.post("bank_accounts", json={"name": "Main", "currency": "EUR"}), 201)["id"]


def _import(api, account: str, *lines: dict) -> list[str]:
    body = {"account_id": account, "transactions": list(lines)}
    return [row["id"] for row in _ok(api.post("transactions/import", json=body))["results"]]


def _line(n: int, amount: int, name: str, text: str) -> dict:
    return {
        "id": f"line-{n}",
        "booking_date": "2026-11-20",
        "amount": amount,
        "currency": "EUR",
        "counterparty_name": name,
        "remittance_information": text,
    }


def test_every_response_and_event_payload_shows_its_amounts(api, tenant):
    paid = _ok(api.post("invoices", json=invoice_body("ERP-1")), 201)
    hooli = invoice_body(
        "ERP-2", number="H-77", customer_name="Hooli UK", customer_email="ap@hooli.example"
    )
    _ok(api.post("invoices", json=hooli | {"amount_due": 5_000}), 201)
    spare = _ok(api.post("invoices", json=invoice_body("ERP-3", number="S-1", amount_due=700)), 201)
    lone = _ok(api.post("invoices", json=invoice_body("ERP-4", number="L-1", amount_due=900)), 201)
    account = _account(api)
    _import(
        api,
        account,
        _line(1, 12_300, "Initech B.V.", "INV-1042"),
        _line(2, 5_000, "Hooli UK Ltd", "thanks"),
        _line(3, -4_500, "Office Supplies", "Order 7781"),
    )
    [manual] = _import(api, account, _line(4, 700, "Someone", "misc"))
    job = _ok(api.post("reconciliation/run"), 202)
    reconcile_tenant(tenant.tenant_id, job["id"])  # what a worker does (a no-op if done)
    _ok(api.patch(f"invoices/{lone['id']}", json={"amount_due": 950}))
    _ok(api.post(f"invoices/{lone['id']}/void"))
    body = {"transaction_id": manual, "allocations": [{"invoice_id": spare["id"], "amount": 700}]}
    match = _ok(api.post("reconciliation/matches", json=body), 201)
    _ok(api.delete(f"reconciliation/matches/{match['id']}"))

    responses = {
        "invoices": api.get("invoices?limit=100"),
        "invoice": api.get(f"invoices/{paid['id']}"),
        "transactions": api.get("transactions?limit=100"),
        "stats": api.get("transactions/stats"),
        "summary": api.get("reconciliation"),
        "matches": api.get("reconciliation/matches"),
        "suggestions": api.get("reconciliation/suggestions"),
        "events": api.get("events?limit=100"),
    }
    documents = {name: _ok(response) for name, response in responses.items()}
    for name, document in documents.items():
        assert _money_without_display(document) == [], name
    events = documents["events"]["data"]
    types = {event["event_type"] for event in events}
    assert {
        "invoice.created",
        "invoice.updated",
        "invoice.voided",
        "invoice.paid",
        "transaction.created",
        "transaction.matched",
        "match.reversed",
        "suggestion.created",
    } <= types
    [updated] = [
        e
        for e in events
        if e["event_type"] == "invoice.updated" and e["data"]["object"]["id"] == lone["id"]
    ]
    assert updated["data"]["previous_attributes"] == {
        "amount_due": 900,
        "amount_due_display": "9.00",
    }
    for suggestion in documents["suggestions"]["data"]:
        assert suggestion["currency"] == "EUR"
        for line in suggestion["allocations"]:
            assert line["amount_display"] == f"{line['amount'] // 100}.{line['amount'] % 100:02d}"
    [matched] = [m for m in documents["matches"]["data"] if m["id"] == match["id"]]
    assert (matched["amount_display"], matched["allocations"][0]["amount_display"]) == (
        "7.00",
        "7.00",
    )
