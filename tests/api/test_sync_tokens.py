"""sync_token on GET /invoices, /transactions and /events: walks, pages, tokens, errors.

These run inside the per-test transaction. On PostgreSQL that transaction's own writes
stay at or above every watermark until it ends (a sync returns them again and again), so
incremental behaviour is shown here on SQLite and, on PostgreSQL, with real commits in
test_sync_committed.py.
"""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import text

from payymo.services.reconciliation.run import run_reconciliation
from payymo.tenancy import tenant_scope
from tests.conftest import EMBEDDED
from tests.helpers import invoice_body
from tests.reconcile_world import account, add, credit_row, invoice_row

embedded_only = pytest.mark.skipif(
    not EMBEDDED, reason="needs the SQLite counter (PostgreSQL: test_sync_committed.py)"
)


def sync(api, resource: str, token: str, **params):
    """One sync call; asserts success and returns the body."""
    response = api.get(resource, query_string={"sync_token": token, **params})
    assert response.status_code == 200, response.json
    return response.json


def walk(api, resource: str, token: str, **params) -> tuple[list[dict], str, int]:
    """Follow next_sync_token until has_more is false: (rows, the next token, pages)."""
    rows, pages = [], 0
    while True:
        body = sync(api, resource, token, **params)
        rows += body["data"]
        token, pages = body["next_sync_token"], pages + 1
        assert body["next_cursor"] is None
        if not body["has_more"]:
            return rows, token, pages


def make_invoices(api, count: int) -> list[str]:
    ids = []
    for i in range(count):
        response = api.post("invoices", json=invoice_body(f"SYNC-{i}"))
        assert response.status_code == 201, response.json
        ids.append(response.json["id"])
    return ids


def test_a_first_sync_walks_every_invoice_oldest_first_in_pages(api):
    ids = make_invoices(api, 5)
    first = sync(api, "invoices", "0", limit=2)
    assert [row["id"] for row in first["data"]] == ids[:2]
    assert first["has_more"] is True
    assert first["next_sync_token"] and first["next_cursor"] is None
    rows, token, pages = walk(api, "invoices", first["next_sync_token"], limit=2)
    assert [row["id"] for row in rows] == ids[2:]
    assert pages == 2
    assert token not in ("0", first["next_sync_token"])


def test_a_page_token_can_be_replayed(api):
    # A client that crashed after storing a token calls again with it: same page.
    make_invoices(api, 3)
    first = sync(api, "invoices", "0", limit=1)
    again = sync(api, "invoices", first["next_sync_token"], limit=1)
    replay = sync(api, "invoices", first["next_sync_token"], limit=1)
    assert again["data"] == replay["data"]
    assert again["next_sync_token"] == replay["next_sync_token"]


def test_a_plain_list_carries_a_null_next_sync_token(api):
    make_invoices(api, 1)
    body = api.get("invoices").json
    assert body["next_sync_token"] is None
    assert body["next_cursor"] is None


def test_a_sync_sees_only_its_tenants_rows(api, other_api):
    make_invoices(api, 2)
    assert len(walk(api, "invoices", "0")[0]) == 2
    for resource in ("invoices", "transactions", "events"):
        assert walk(other_api, resource, "0")[0] == []


def test_transactions_sync_too(api, session, tenant):
    acc = account(session, tenant.tenant_id)
    txns = add(
        session, tenant.tenant_id, credit_row(acc, 500, "a", "A"), credit_row(acc, 700, "b", "B")
    )
    rows, token, _ = walk(api, "transactions", "0", limit=1)
    assert [row["id"] for row in rows] == txns
    assert token


def test_events_sync_keeps_its_type_filter(api):
    make_invoices(api, 2)
    api.post(
        "bank_accounts", json={"name": "Main", "currency": "EUR", "iban": "DE89370400440532013000"}
    )
    rows, token, _ = walk(api, "events", "0", type="invoice.*")
    assert [row["event_type"] for row in rows] == ["invoice.created", "invoice.created"]
    assert sync(api, "events", token, type="invoice.*")["next_sync_token"]
    # The token remembers the filter: another filter (or none) would skip events.
    for other in ({"type": "invoice.created"}, {}):
        response = api.get("events", query_string={"sync_token": token, **other})
        assert response.status_code == 400
        assert response.json["error"]["param"] == "sync_token"
        assert response.json["error"]["code"] == "invalid_sync_token"


def _raw(text_: str) -> str:
    return base64.urlsafe_b64encode(text_.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "bad",
    [
        "nope!",
        "AAAA",
        _raw("1|inv|5"),
        _raw("2|inv|5||"),
        _raw("1|inv|-5||"),
        _raw("1|inv|05||"),
        _raw("1|inv|5|6|"),  # a walk without its position
        _raw("1|inv|5||inv_01JDZZZZZZZZZZZZZZZZZZZZZZ"),
        _raw("1|inv|5|6|txn_01JDZZZZZZZZZZZZZZZZZZZZZZ"),
        _raw("1|txn|5||"),  # another list's token
        _raw("1|inv|99999999999999999||"),  # ahead of the database
        _raw("1|inv|99999999999999999999||"),
    ],
)
def test_an_invalid_sync_token_is_a_400_naming_it(api, bad):
    response = api.get("invoices", query_string={"sync_token": bad})
    assert response.status_code == 400, response.json
    error = response.json["error"]
    assert error["param"] == "sync_token"
    assert error["code"] == "invalid_sync_token"
    assert error["type"] == "invalid_request_error"


def test_an_empty_or_oversized_sync_token_is_a_400(api):
    for bad in ("", "x" * 201):
        response = api.get("invoices", query_string={"sync_token": bad})
        assert response.status_code == 400
        assert response.json["error"]["param"] == "sync_token"
        assert response.json["error"]["code"] == "parameter_invalid"


@pytest.mark.parametrize(
    ("resource", "param", "value"),
    [
        ("invoices", "status", "open"),
        ("invoices", "updated_since", "2026-11-01T00:00:00Z"),
        ("invoices", "starting_after", "inv_01JDZZZZZZZZZZZZZZZZZZZZZZ"),
        ("transactions", "match_status", "unmatched"),
        ("transactions", "ending_before", "txn_01JDZZZZZZZZZZZZZZZZZZZZZZ"),
        ("events", "starting_after", "evt_01JDZZZZZZZZZZZZZZZZZZZZZZ"),
    ],
)
def test_sync_token_refuses_filters_and_cursors(api, resource, param, value):
    response = api.get(resource, query_string={"sync_token": "0", param: value})
    assert response.status_code == 400
    assert response.json["error"]["param"] == param
    assert "sync_token" in response.json["error"]["message"]


def test_the_change_triggers_exist_at_head(session):
    # A later SQLite batch migration that recreates a table silently drops its triggers.
    # Both dialects name them alike (PostgreSQL since migration 0029).
    if session.get_bind().dialect.name == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE tgname LIKE '%change_seq%'"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%change_seq%'"
    rows = session.execute(text(query))
    assert {name for (name,) in rows} == {
        "invoices_change_seq_insert",
        "invoices_change_seq_update",
        "transactions_change_seq_insert",
        "transactions_change_seq_update",
        "events_change_seq_insert",
    }


@pytest.mark.postgres
def test_every_insert_and_update_is_stamped_with_the_writing_transaction(api, session, tenant):
    """An insert takes the transaction's id as the column default (migration 0029); one
    that brings another value, and every update, go through the trigger."""
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL's transaction ids (SQLite: the sync_clock counter)")
    assert api.post("invoices", json=invoice_body("STAMP-1")).status_code == 201
    assert api.post("invoices", json=invoice_body("STAMP-2")).status_code == 201
    with tenant_scope(tenant.tenant_id):
        xact = session.scalar(text("SELECT pg_current_xact_id()::text::bigint"))
        session.execute(text("UPDATE invoices SET change_seq = 7 WHERE external_id = 'STAMP-1'"))
        session.execute(
            text(
                "INSERT INTO events (id, tenant_id, type, data, created_at, change_seq)"
                " SELECT 'evt_01' || lpad('STAMP', 24, '0'), tenant_id, 'invoice.updated',"
                " '{}', now(), 7 FROM invoices WHERE external_id = 'STAMP-1'"
            )
        )
        stamps = session.execute(
            text(
                "SELECT change_seq FROM invoices WHERE external_id LIKE 'STAMP-%'"
                " UNION ALL SELECT change_seq FROM events WHERE tenant_id = :tenant"
            ),
            {"tenant": tenant.tenant_id},
        ).scalars()
        assert set(stamps) == {xact}


# --- the embedded default (SQLite): a counter bumped inside each write transaction ---


@embedded_only
def test_an_incremental_sync_returns_only_what_changed(api):
    _a, b, c = make_invoices(api, 3)
    _rows, token, _ = walk(api, "invoices", "0")
    nothing = sync(api, "invoices", token)
    assert nothing["data"] == []
    assert nothing["next_sync_token"] == token
    assert api.patch(f"invoices/{b}", json={"number": "INV-9"}).status_code == 200
    assert api.post(f"invoices/{c}/void").status_code == 200
    rows, token, _ = walk(api, "invoices", token)
    assert [(row["id"], row["number"], row["status"]) for row in rows] == [
        (b, "INV-9", "open"),
        (c, "INV-1042", "void"),
    ]
    assert sync(api, "invoices", token)["data"] == []


@embedded_only
def test_a_change_during_a_walk_comes_back_in_the_next_walk(api):
    a, b = make_invoices(api, 2)
    first = sync(api, "invoices", "0", limit=1)
    assert [row["id"] for row in first["data"]] == [a]
    # a changes after its page was read: this walk has passed it, the next one has not.
    assert api.patch(f"invoices/{a}", json={"number": "LATE"}).status_code == 200
    rows, token, _ = walk(api, "invoices", first["next_sync_token"], limit=1)
    assert [row["id"] for row in rows] == [b]
    rows, _token, _ = walk(api, "invoices", token)
    assert [(row["id"], row["number"]) for row in rows] == [(a, "LATE")]


@embedded_only
def test_rows_written_by_the_reconcile_writer_come_back(api, session, tenant):
    tid = tenant.tenant_id
    acc = account(session, tid)
    (invoice,) = add(session, tid, invoice_row("INV-1001", 12_300, "Initech BV"))
    (credit,) = add(session, tid, credit_row(acc, 12_300, "Payment INV-1001", "INITECH B.V."))
    tokens = {name: walk(api, name, "0")[1] for name in ("invoices", "transactions", "events")}
    with tenant_scope(tid):
        result = run_reconciliation(session=session)
    assert result["auto_matched"] == 1, result
    invoices = walk(api, "invoices", tokens["invoices"])[0]
    assert [(row["id"], row["status"]) for row in invoices] == [(invoice, "paid")]
    txns = walk(api, "transactions", tokens["transactions"])[0]
    assert [(row["id"], row["match_status"]) for row in txns] == [(credit, "matched")]
    events = walk(api, "events", tokens["events"])[0]
    assert "transaction.matched" in {row["event_type"] for row in events}
