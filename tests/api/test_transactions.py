"""Transactions API: import, dedupe, list filters, PATCH, stats, events, isolation."""

from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import event, select

from payymo import money
from payymo.models import BankAccount, Event, Transaction
from payymo.services import transactions as transactions_service
from payymo.tenancy import tenant_scope
from tests.helpers import ApiClient

IBAN = "DE89370400440532013000"
OTHER_IBAN = "GB82WEST12345698765432"


def new_account(api, currency: str = "EUR", name: str = "Statements") -> str:
    response = api.post("bank_accounts", json={"name": name, "currency": currency})
    assert response.status_code == 201, response.json
    return response.json["id"]


def row(**overrides) -> dict:
    body = {
        "booking_date": "2026-03-02",
        "value_date": "2026-03-02",
        "amount": 12_300,
        "currency": "EUR",
        "counterparty_name": "Initech BV",
        "counterparty_iban": "de89 3704 0044 0532 0130 00",
        "remittance_information": "Invoice INV-1042",
        "end_to_end_id": "E2E-1042",
    }
    body.update(overrides)
    return body


def coffee(**overrides) -> dict:
    body = {
        "booking_date": "2026-03-03",
        "amount": -350,
        "currency": "EUR",
        "counterparty_name": "Café Central",
        "remittance_information": "Card payment",
    }
    body.update(overrides)
    return body


def import_rows(api, account_id: str, rows: list, **kwargs):
    return api.post(
        "transactions/import", json={"account_id": account_id, "transactions": rows}, **kwargs
    )


def count_transactions(session, tenant) -> int:
    with tenant_scope(tenant.tenant_id):
        return session.query(Transaction).count()


def created_events(session, tenant) -> list[Event]:
    with tenant_scope(tenant.tenant_id):
        stmt = select(Event).where(Event.type == "transaction.created").order_by(Event.id)
        return list(session.scalars(stmt))


# --- import ---------------------------------------------------------------------------


def test_import_creates_transactions_readable_by_get(api):
    account = new_account(api)
    response = import_rows(api, account, [row(id="bank-1"), coffee()])
    assert response.status_code == 200, response.json
    body = response.json
    assert body["object"] == "transaction_import"
    assert body["account_id"] == account
    assert body["counts"] == {"created": 2, "duplicate": 0, "error": 0}
    assert [(r["index"], r["status"], r["error"]) for r in body["results"]] == [
        (0, "created", None),
        (1, "created", None),
    ]
    txn = api.get(f"transactions/{body['results'][0]['id']}")
    assert txn.status_code == 200
    assert txn.json == {
        **txn.json,
        "object": "transaction",
        "account_id": account,
        "provider_id": "bank-1",
        "status": "booked",
        "booking_date": "2026-03-02",
        "value_date": "2026-03-02",
        "amount": 12_300,
        "amount_display": "123.00",
        "currency": "EUR",
        "counterparty_name": "Initech BV",
        "counterparty_iban": IBAN,
        "remittance_information": "Invoice INV-1042",
        "end_to_end_id": "E2E-1042",
        "match_status": "unmatched",
        "ignored": False,
        "category": None,
        "notes": None,
    }
    assert txn.json["id"].startswith("txn_")
    out = api.get(f"transactions/{body['results'][1]['id']}").json
    assert (out["amount"], out["amount_display"], out["provider_id"]) == (-350, "-3.50", None)
    assert out["value_date"] is None


def test_import_uses_the_currency_exponent(api):
    account = new_account(api, currency="JPY")
    response = import_rows(api, account, [coffee(currency="JPY", amount=-1200)])
    txn = api.get(f"transactions/{response.json['results'][0]['id']}").json
    assert txn["amount_display"] == "-1200"


def test_reimporting_a_statement_creates_nothing(api, session, tenant):
    account = new_account(api)
    statement = [row(id="bank-1"), row(amount=500, end_to_end_id=None), coffee()]
    first = import_rows(api, account, statement).json
    second = import_rows(api, account, statement)
    assert second.status_code == 200
    assert second.json["counts"] == {"created": 0, "duplicate": 3, "error": 0}
    assert [r["id"] for r in second.json["results"]] == [r["id"] for r in first["results"]]
    assert count_transactions(session, tenant) == 3
    assert len(created_events(session, tenant)) == 3


def test_identical_coffees_in_one_statement_are_two_transactions(api, session, tenant):
    account = new_account(api)
    first = import_rows(api, account, [coffee(), coffee()]).json
    assert first["counts"]["created"] == 2
    assert first["results"][0]["id"] != first["results"][1]["id"]
    again = import_rows(api, account, [coffee(), coffee()]).json
    assert again["counts"] == {"created": 0, "duplicate": 2, "error": 0}
    # A longer statement covering the same day with a third coffee adds exactly one.
    longer = import_rows(api, account, [coffee(), coffee(), coffee()]).json
    assert [r["status"] for r in longer["results"]] == ["duplicate", "duplicate", "created"]
    assert count_transactions(session, tenant) == 3


def test_client_id_dedupes_within_a_batch_and_across_imports(api, session, tenant):
    account = new_account(api)
    batch = import_rows(api, account, [row(id="X-1"), row(id="X-1", amount=999)]).json
    assert [r["status"] for r in batch["results"]] == ["created", "duplicate"]
    assert batch["results"][1]["id"] == batch["results"][0]["id"]
    changed = import_rows(api, account, [row(id="X-1", amount=777)]).json
    assert changed["results"][0] == {
        "index": 0,
        "status": "duplicate",
        "id": batch["results"][0]["id"],
        "error": None,
    }
    assert count_transactions(session, tenant) == 1


def test_dedupe_is_per_account(api, session, tenant):
    first, second = new_account(api, name="A"), new_account(api, name="B")
    assert import_rows(api, first, [coffee(), row(id="1")]).json["counts"]["created"] == 2
    assert import_rows(api, second, [coffee(), row(id="1")]).json["counts"]["created"] == 2
    assert count_transactions(session, tenant) == 4


def test_import_checks_duplicates_in_one_query_whatever_the_row_count(api, connection):
    account = new_account(api)
    import_rows(api, account, [coffee(amount=-i - 1) for i in range(10)])
    statements: list[str] = []
    request_thread = threading.get_ident()

    def record(_conn, _cursor, statement, *_args):
        # In-process jobs (a reconcile run after the import) run in their own thread.
        if threading.get_ident() == request_thread:
            statements.append(statement)

    event.listen(connection, "before_cursor_execute", record)
    try:
        response = import_rows(api, account, [coffee(amount=-i - 1) for i in range(300)])
    finally:
        event.remove(connection, "before_cursor_execute", record)
    assert response.json["counts"] == {"created": 290, "duplicate": 10, "error": 0}
    reads = [
        s for s in statements if s.lstrip().upper().startswith("SELECT") and "transactions" in s
    ]
    assert len(reads) == 1
    assert len(statements) < 20


def test_mixed_rows_answer_207_and_write_only_good_rows(api, session, tenant):
    account = new_account(api)
    rows = [
        row(id="good-1"),
        row(amount=12.5),
        row(unexpected="x"),
        row(counterparty_iban="DE00 0000"),
        row(booking_date="2026-02-30"),
        row(currency="XYZ"),
        row(currency="USD"),
        "not an object",
        row(amount=10**16),
        row(amount="100"),
        row(amount=True),
        {k: v for k, v in row().items() if k != "amount"},
        row(status="cleared"),
        row(remittance_information="a\x00b"),
        row(id="good-2", amount=-1),
    ]
    response = import_rows(api, account, rows)
    assert response.status_code == 207, response.json
    body = response.json
    assert body["counts"] == {"created": 2, "duplicate": 0, "error": 13}
    results = body["results"]
    assert [r["index"] for r in results] == list(range(len(rows)))
    errors = {r["index"]: r["error"] for r in results if r["status"] == "error"}
    assert {i: e["param"] for i, e in errors.items()} == {
        1: "transactions[1].amount",
        2: "transactions[2].unexpected",
        3: "transactions[3].counterparty_iban",
        4: "transactions[4].booking_date",
        5: "transactions[5].currency",
        6: "transactions[6].currency",
        7: "transactions[7]",
        8: "transactions[8].amount",
        9: "transactions[9].amount",
        10: "transactions[10].amount",
        11: "transactions[11].amount",
        12: "transactions[12].status",
        13: "transactions[13].remittance_information",
    }
    assert errors[2]["code"] == "parameter_unknown"
    assert errors[6]["code"] == "currency_mismatch"
    assert errors[11]["code"] == "parameter_missing"
    assert all(e["type"] == "invalid_request_error" for e in errors.values())
    assert all(r["id"] is None for r in results if r["status"] == "error")
    listed = api.get("transactions").json["data"]
    assert sorted(t["provider_id"] for t in listed) == ["good-1", "good-2"]
    assert len(created_events(session, tenant)) == 2


def test_import_into_another_tenants_account_is_404_and_writes_nothing(
    api, other_api, session, tenant, other_tenant
):
    theirs = new_account(other_api)
    response = import_rows(api, theirs, [coffee()])
    assert response.status_code == 404
    error = response.json["error"]
    assert (error["type"], error["param"]) == ("not_found", "account_id")
    assert count_transactions(session, tenant) == 0
    assert count_transactions(session, other_tenant) == 0
    assert created_events(session, tenant) == []
    assert created_events(session, other_tenant) == []


def test_import_into_unknown_account_is_404_even_when_every_row_is_bad(api):
    response = import_rows(api, "ba_01HZZZZZZZZZZZZZZZZZZZZZZZ", [{"amount": 1.5}])
    assert response.status_code == 404
    assert response.json["error"]["param"] == "account_id"


def test_import_into_a_provider_account_is_refused(api, session, tenant):
    with tenant_scope(tenant.tenant_id):
        synced = BankAccount(kind="provider", name="Synced", currency="EUR")
        session.add(synced)
        session.commit()
        synced_id = synced.id
    response = import_rows(api, synced_id, [coffee()])
    assert response.status_code == 409
    assert response.json["error"]["code"] == "account_not_manual"
    assert response.json["error"]["param"] == "account_id"
    assert count_transactions(session, tenant) == 0


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"transactions": [{}]}, "account_id", "parameter_missing"),
        ({"account_id": "ba_x"}, "transactions", "parameter_missing"),
        ({"account_id": "ba_x", "transactions": []}, "transactions", "parameter_invalid"),
        ({"account_id": "ba_x", "transactions": {}}, "transactions", "parameter_invalid"),
        ({"account_id": 7, "transactions": [{}]}, "account_id", "parameter_invalid"),
        ({"account_id": "ba_x", "transactions": [{}], "dry": 1}, "dry", "parameter_unknown"),
    ],
)
def test_bad_import_bodies_are_400(api, body, param, code):
    response = api.post("transactions/import", json=body)
    assert response.status_code == 400, response.json
    assert (response.json["error"]["param"], response.json["error"]["code"]) == (param, code)


def test_import_rejects_more_than_1000_rows(api, session, tenant):
    account = new_account(api)
    response = import_rows(api, account, [coffee(amount=-i - 1) for i in range(1001)])
    assert response.status_code == 400
    assert response.json["error"]["param"] == "transactions"
    assert count_transactions(session, tenant) == 0


def test_import_accepts_1000_rows_in_one_call(api, session, tenant):
    account = new_account(api)
    response = import_rows(api, account, [coffee(amount=-i - 1) for i in range(1000)])
    assert response.status_code == 200
    assert response.json["counts"]["created"] == 1000
    assert count_transactions(session, tenant) == 1000


def test_import_malformed_json_is_400(api):
    response = api.post(
        "transactions/import",
        data='{"account_id": "ba_x", "transactions": [',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_json"


def test_import_requires_json_content_type(api):
    response = api.post("transactions/import", data="a=b", content_type="text/plain")
    assert response.status_code == 415


def test_transaction_created_event_per_new_transaction(api, session, tenant):
    account = new_account(api)
    response = import_rows(api, account, [row(id="e-1"), coffee()])
    ids = [r["id"] for r in response.json["results"]]
    events = created_events(session, tenant)
    assert [e.data["object"]["id"] for e in events] == ids
    first = events[0].data["object"]
    assert first["object"] == "transaction"
    assert first["amount"] == 12_300
    assert first["amount_display"] == "123.00"
    assert first["account_id"] == account
    assert events[0].request_id == response.headers["X-Request-Id"]
    assert all(e.dispatched_at is None for e in events)


def test_import_replays_with_idempotency_key(api, session, tenant):
    account = new_account(api)
    headers = {"Idempotency-Key": "import-2026-03"}
    first = import_rows(api, account, [coffee()], headers=headers)
    second = import_rows(api, account, [coffee()], headers=headers)
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert second.json == first.json
    assert second.json["counts"]["created"] == 1


# --- get / list -------------------------------------------------------------------------


@pytest.fixture
def ledger(api):
    """Two EUR accounts and a USD one with varied lines; returns ids by name."""
    eur, eur2 = new_account(api, name="EUR"), new_account(api, name="EUR2")
    usd = new_account(api, currency="USD", name="USD")
    ids = {}

    def put(account, name, line):
        result = import_rows(api, account, [line]).json["results"][0]
        assert result["status"] == "created", result
        ids[name] = result["id"]

    put(eur, "salary", row(amount=250_000, booking_date="2026-01-31", counterparty_name="ACME"))
    put(eur, "rent", row(amount=-90_000, booking_date="2026-02-01", counterparty_name="Landlord"))
    put(
        eur,
        "refund",
        row(
            amount=1_999,
            booking_date="2026-02-15",
            counterparty_name="Shop 50%_off",
            counterparty_iban=OTHER_IBAN,
            remittance_information="Refund ORDER-77",
        ),
    )
    put(eur2, "pending", coffee(status="pending", booking_date="2026-02-20"))
    put(usd, "usd", row(currency="USD", amount=5_000, booking_date="2026-02-10"))
    return {"accounts": {"eur": eur, "eur2": eur2, "usd": usd}, **ids}


def listed_ids(api, query="", **params) -> set[str]:
    response = api.get(f"transactions?{query}", query_string=params or None)
    assert response.status_code == 200, response.json
    return {t["id"] for t in response.json["data"]}


def test_list_without_filters_is_newest_first(api, ledger):
    data = api.get("transactions").json["data"]
    assert [t["id"] for t in data] == [
        ledger[n] for n in ("usd", "pending", "refund", "rent", "salary")
    ]


def test_filter_by_account(api, ledger):
    assert listed_ids(api, account_id=ledger["accounts"]["eur2"]) == {ledger["pending"]}
    assert listed_ids(api, account_id="ba_unknown") == set()


def test_filter_by_status(api, ledger):
    assert listed_ids(api, status="pending") == {ledger["pending"]}
    assert ledger["pending"] not in listed_ids(api, status="booked")


def test_filter_by_match_status(api, ledger):
    api.patch(f"transactions/{ledger['rent']}", json={"ignored": True})
    assert listed_ids(api, match_status="ignored") == {ledger["rent"]}
    assert ledger["rent"] not in listed_ids(api, match_status="unmatched")


def test_filter_by_booking_date_range(api, ledger):
    assert listed_ids(api, booking_date_from="2026-02-10", booking_date_to="2026-02-15") == {
        ledger["usd"],
        ledger["refund"],
    }
    assert listed_ids(api, booking_date_to="2026-01-31") == {ledger["salary"]}


def test_filter_by_amount_range(api, ledger):
    assert listed_ids(api, amount_min="1999", amount_max="5000") == {
        ledger["refund"],
        ledger["usd"],
    }
    assert listed_ids(api, amount_max="-1") == {ledger["rent"], ledger["pending"]}


def test_filter_by_direction(api, ledger):
    assert listed_ids(api, direction="out") == {ledger["rent"], ledger["pending"]}
    assert listed_ids(api, direction="in") == {ledger["salary"], ledger["refund"], ledger["usd"]}


def test_filter_by_currency(api, ledger):
    assert listed_ids(api, currency="USD") == {ledger["usd"]}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("landlord", {"rent"}),
        ("order-77", {"refund"}),
        ("50%_", {"refund"}),
        ("%", {"refund"}),
        ("gb82 west", {"refund"}),
        ("café", {"pending"}),
        ("nothing like this", set()),
    ],
)
def test_filter_by_q(api, ledger, q, expected):
    assert listed_ids(api, q=q) == {ledger[name] for name in expected}


def test_filters_combine(api, ledger):
    found = listed_ids(api, currency="EUR", direction="in", booking_date_from="2026-02-01")
    assert found == {ledger["refund"]}


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("amount_min=1.5", "amount_min"),
        ("amount_max=abc", "amount_max"),
        (f"amount_min={10**16}", "amount_min"),
        ("amount_min=5&amount_max=4", "amount_max"),
        ("booking_date_from=2026-13-01", "booking_date_from"),
        ("booking_date_from=2026-02-02&booking_date_to=2026-02-01", "booking_date_to"),
        ("status=cleared", "status"),
        ("match_status=lost", "match_status"),
        ("direction=sideways", "direction"),
        ("currency=XYZ", "currency"),
        ("q=", "q"),
        ("limit=0", "limit"),
        ("colour=red", "colour"),
        ("q=a%00b", "q"),
        ("account_id=ba%00", "account_id"),
        ("starting_after=txn_nope", "starting_after"),
    ],
)
def test_bad_list_query_is_400_naming_the_param(api, query, param):
    response = api.get(f"transactions?{query}")
    assert response.status_code == 400, response.json
    assert response.json["error"]["param"] == param


def test_pagination(api, ledger):
    order = [ledger[n] for n in ("usd", "pending", "refund", "rent", "salary")]
    page = api.get("transactions?limit=2").json
    assert [t["id"] for t in page["data"]] == order[:2]
    assert page["has_more"] is True
    page2 = api.get(f"transactions?limit=2&starting_after={page['next_cursor']}").json
    assert [t["id"] for t in page2["data"]] == order[2:4]
    page3 = api.get(f"transactions?limit=2&starting_after={page2['next_cursor']}").json
    assert [t["id"] for t in page3["data"]] == order[4:]
    assert page3["has_more"] is False
    before = api.get(f"transactions?limit=2&ending_before={order[3]}").json
    assert [t["id"] for t in before["data"]] == order[1:3]


def _walk(api, query: str, limit: int) -> tuple[list[str], list[str]]:
    """Every id of a filtered list, page by page forwards, then backwards from the end."""
    forwards, cursor = [], None
    while True:
        after = f"&starting_after={cursor}" if cursor else ""
        page = api.get(f"transactions?limit={limit}&{query}{after}").json
        forwards += [t["id"] for t in page["data"]]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    backwards = forwards[-1:]
    before = backwards[0] if backwards else None
    while before:
        page = api.get(f"transactions?limit={limit}&{query}&ending_before={before}").json
        ids = [t["id"] for t in page["data"]]
        backwards = ids + backwards
        before = ids[0] if page["has_more"] else None
    return forwards, backwards


def test_short_date_and_amount_ranges_page_in_id_order_both_ways(api, other_api, monkeypatch):
    """A short range is read value by value on PostgreSQL (pagination.Spread); the pages
    must be those of the plain filter: newest first, nothing skipped or repeated, no other
    tenant's lines, every other filter still applied."""
    monkeypatch.setattr(transactions_service, "SPREAD_FROM", 0)  # a big tenant's plan
    lines = [
        row(
            booking_date=f"2026-03-{1 + (n * 7) % 10:02d}",
            value_date="2026-03-01",
            amount=(1_000 + (n * 13) % 9) * (-1 if n % 4 == 0 else 1),
            end_to_end_id=f"E2E-{n}",
        )
        for n in range(40)
    ]
    for client in (other_api, api):
        account = new_account(client)
        for low in range(0, 40, 8):  # five imports: ids follow import order, dates do not
            assert import_rows(client, account, lines[low : low + 8]).status_code == 200
    every = api.get("transactions?limit=100").json["data"]
    ignored = {t["id"] for t in every[::3]}
    for txn in ignored:
        assert api.patch(f"transactions/{txn}", json={"ignored": True}).status_code == 200
    every = api.get("transactions?limit=100").json["data"]
    cases = [
        (
            "booking_date_from=2026-03-03&booking_date_to=2026-03-06",
            lambda t: "03" <= t["booking_date"][-2:] <= "06",
        ),
        ("amount_min=1002&amount_max=1005", lambda t: 1002 <= t["amount"] <= 1005),
        (
            "booking_date_from=2026-03-02&booking_date_to=2026-03-08&amount_min=1000"
            "&amount_max=1008&match_status=unmatched",
            lambda t: (
                "02" <= t["booking_date"][-2:] <= "08"
                and 1000 <= t["amount"] <= 1008
                and t["match_status"] == "unmatched"
            ),
        ),
        (
            "booking_date_from=2026-03-05&booking_date_to=2026-03-05&direction=out",
            lambda t: t["booking_date"] == "2026-03-05" and t["amount"] < 0,
        ),
        ("amount_min=-1004&amount_max=-1004", lambda t: t["amount"] == -1004),
        # 98 amounts (by value) and 2,105 (more than SPREAD_VALUES: the plain plan).
        ("amount_min=1003&amount_max=1100", lambda t: 1003 <= t["amount"] <= 1100),
        ("amount_min=-1100&amount_max=1004", lambda t: -1100 <= t["amount"] <= 1004),
    ]
    for query, wanted in cases:
        expected = [t["id"] for t in every if wanted(t)]
        assert expected, query
        for limit in (1, 3, 100):
            forwards, backwards = _walk(api, query, limit)
            assert forwards == expected, (query, limit)
            assert backwards == expected, (query, limit)


def test_other_tenant_sees_nothing(api, other_api, ledger):
    assert other_api.get("transactions").json["data"] == []
    for method in ("get", "patch"):
        kwargs = {"json": {"notes": "mine"}} if method == "patch" else {}
        response = getattr(other_api, method)(f"transactions/{ledger['rent']}", **kwargs)
        assert response.status_code == 404
        assert response.json["error"]["type"] == "not_found"
    assert api.get(f"transactions/{ledger['rent']}").json["notes"] is None
    assert other_api.get("transactions/stats").json["count"] == 0


# --- PATCH ------------------------------------------------------------------------------


def test_patch_category_and_notes(api, session, tenant, ledger):
    response = api.patch(
        f"transactions/{ledger['rent']}", json={"category": "rent", "notes": "March\nflat"}
    )
    assert response.status_code == 200, response.json
    assert (response.json["category"], response.json["notes"]) == ("rent", "March\nflat")
    assert response.json["updated_at"] > response.json["created_at"]
    assert api.get(f"transactions/{ledger['rent']}").json["category"] == "rent"
    cleared = api.patch(f"transactions/{ledger['rent']}", json={"category": None}).json
    assert (cleared["category"], cleared["notes"]) == (None, "March\nflat")
    with tenant_scope(tenant.tenant_id):
        updates = session.scalars(
            select(Event).where(Event.type == "transaction.updated").order_by(Event.id)
        ).all()
    assert [e.data["previous_attributes"] for e in updates] == [
        {"category": None, "notes": None},
        {"category": "rent"},
    ]


def test_patch_ignored_round_trip(api, ledger):
    path = f"transactions/{ledger['rent']}"
    ignored = api.patch(path, json={"ignored": True}).json
    assert (ignored["match_status"], ignored["ignored"]) == ("ignored", True)
    assert api.patch(path, json={"ignored": True}).json["match_status"] == "ignored"
    back = api.patch(path, json={"ignored": False}).json
    assert (back["match_status"], back["ignored"]) == ("unmatched", False)


def test_unignoring_leaves_other_match_statuses_alone(api, session, tenant, ledger):
    with tenant_scope(tenant.tenant_id):
        txn = session.get(Transaction, ledger["rent"])
        txn.match_status = "suggested"
        session.commit()
    response = api.patch(f"transactions/{ledger['rent']}", json={"ignored": False})
    assert response.json["match_status"] == "suggested"
    assert (
        api.patch(f"transactions/{ledger['rent']}", json={"notes": "checked"}).json["match_status"]
        == "suggested"
    )


@pytest.mark.parametrize("status", ["matched", "partially_matched"])
def test_matched_transaction_cannot_be_ignored(api, session, tenant, ledger, status):
    with tenant_scope(tenant.tenant_id):
        session.get(Transaction, ledger["rent"]).match_status = status
        session.commit()
    response = api.patch(f"transactions/{ledger['rent']}", json={"ignored": True, "notes": "x"})
    assert response.status_code == 409
    assert (response.json["error"]["code"], response.json["error"]["param"]) == (
        "transaction_matched",
        "ignored",
    )
    after = api.get(f"transactions/{ledger['rent']}").json
    assert (after["match_status"], after["notes"]) == (status, None)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"ignored": "true"}, "ignored"),
        ({"ignored": 1}, "ignored"),
        ({"category": "x" * 101}, "category"),
        ({"category": 5}, "category"),
        ({"notes": "x" * 5001}, "notes"),
        ({"notes": "a\x00b"}, "notes"),
        ({"category": "a\nb"}, "category"),
        ({"amount": 1}, "amount"),
        ({"match_status": "matched"}, "match_status"),
    ],
)
def test_patch_rejects_bad_input(api, ledger, body, param):
    response = api.patch(f"transactions/{ledger['rent']}", json=body)
    assert response.status_code == 400, response.json
    assert response.json["error"]["param"] == param
    after = api.get(f"transactions/{ledger['rent']}").json
    assert (after["amount"], after["match_status"], after["category"]) == (
        -90_000,
        "unmatched",
        None,
    )


def test_get_unknown_transaction_is_404(api):
    response = api.get("transactions/txn_01HZZZZZZZZZZZZZZZZZZZZZZZ")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "resource_missing"


# --- stats ------------------------------------------------------------------------------


def bucket(currency, count, amount_in, amount_out, **key):
    amount = amount_in + amount_out
    return {
        **key,
        "currency": currency,
        "count": count,
        "amount": amount,
        "amount_display": money.to_display(amount, currency),
        "amount_in": amount_in,
        "amount_in_display": money.to_display(amount_in, currency),
        "amount_out": amount_out,
        "amount_out_display": money.to_display(amount_out, currency),
    }


def test_stats_group_by_currency_direction_match_status_and_month(api, ledger):
    api.patch(f"transactions/{ledger['rent']}", json={"ignored": True})
    response = api.get("transactions/stats")
    assert response.status_code == 200, response.json
    stats = response.json
    assert stats["object"] == "transaction_stats"
    assert stats["count"] == 5
    assert stats["by_currency"] == [
        bucket("EUR", 4, 251_999, -90_350),
        bucket("USD", 1, 5_000, 0),
    ]
    eur = stats["by_currency"][0]
    assert (eur["amount_display"], eur["amount_in_display"], eur["amount_out_display"]) == (
        "1616.49",
        "2519.99",
        "-903.50",
    )
    assert stats["by_direction"] == [
        bucket("EUR", 2, 251_999, 0, direction="in"),
        bucket("USD", 1, 5_000, 0, direction="in"),
        bucket("EUR", 2, 0, -90_350, direction="out"),
    ]
    assert stats["by_match_status"] == [
        bucket("EUR", 1, 0, -90_000, match_status="ignored"),
        bucket("EUR", 3, 251_999, -350, match_status="unmatched"),
        bucket("USD", 1, 5_000, 0, match_status="unmatched"),
    ]
    assert stats["by_month"] == [
        bucket("EUR", 1, 250_000, 0, month="2026-01"),
        bucket("EUR", 3, 1_999, -90_350, month="2026-02"),
        bucket("USD", 1, 5_000, 0, month="2026-02"),
    ]


def test_stats_respect_filters(api, ledger):
    stats = api.get(f"transactions/stats?account_id={ledger['accounts']['eur']}").json
    assert stats["count"] == 3
    assert stats["by_currency"] == [bucket("EUR", 3, 251_999, -90_000)]
    assert api.get("transactions/stats?direction=out&currency=EUR").json["by_currency"] == [
        bucket("EUR", 2, 0, -90_350)
    ]


def test_stats_when_empty(api):
    stats = api.get("transactions/stats").json
    assert stats == {
        "object": "transaction_stats",
        "count": 0,
        "by_currency": [],
        "by_direction": [],
        "by_match_status": [],
        "by_month": [],
    }


def test_stats_rejects_pagination_and_bad_filters(api):
    assert api.get("transactions/stats?limit=5").json["error"]["param"] == "limit"
    assert api.get("transactions/stats?amount_min=0.5").json["error"]["param"] == "amount_min"


def test_stats_path_is_not_read_as_an_id(api):
    response = api.get("transactions/stats")
    assert response.status_code == 200
    assert response.json["object"] == "transaction_stats"


# --- scopes -----------------------------------------------------------------------------


def test_read_scope_can_list_but_not_write(app, api, make_tenant):
    reader = make_tenant("Reader", scopes=["transactions:read"])
    client = ApiClient(app.test_client(), reader.secret)
    assert client.get("transactions").status_code == 200
    assert client.get("transactions/stats").status_code == 200
    body = json.dumps({"account_id": "ba_x", "transactions": [coffee()]})
    response = client.post("transactions/import", data=body, content_type="application/json")
    assert response.status_code == 403
