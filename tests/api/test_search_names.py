"""Payer searches on PostgreSQL: the tenant's names first, then each name's lines newest first."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, update

from payymo import db
from payymo.models import CounterpartyName, Transaction
from payymo.services import search, search_names
from payymo.services.filters import escape_like
from payymo.tenancy import tenant_scope

pytestmark = pytest.mark.postgres

ACME = "Acme Widgets Ltd"


def _line(n: int, name: str | None, remittance: str = "", **extra) -> dict:
    return {
        "id": f"l-{n}",
        "booking_date": "2026-11-20",
        "amount": 100 + n,
        "currency": "EUR",
        "counterparty_name": name,
        "remittance_information": remittance or f"Payment {n}",
        **extra,
    }


def _import(client, lines: list[dict]) -> None:
    account = client.post("bank_accounts", json={"name": "A", "currency": "EUR"}).json["id"]
    response = client.post(
        "transactions/import", json={"account_id": account, "transactions": lines}
    )
    assert response.status_code == 200, response.json


def _names(session, tenant_id: str) -> list[str]:
    with tenant_scope(tenant_id):
        names = sorted(session.scalars(select(CounterpartyName.name)))
    session.rollback()
    return names


def test_every_new_name_is_kept_for_its_tenant_with_its_line(
    api, other_api, tenant, other_tenant, session
):
    _import(
        api,
        [
            _line(1, ACME),
            _line(2, ACME),
            _line(3, "Bolt Bikes"),
            _line(4, None),
            _line(5, "Pending Payer", status="pending"),
        ],
    )
    _import(other_api, [_line(1, "Cobalt Cars")])
    assert _names(session, tenant.tenant_id) == [ACME, "Bolt Bikes", "Pending Payer"]
    assert _names(session, other_tenant.tenant_id) == ["Cobalt Cars"]
    # Bank sync books a pending line under its final name (``ingest._supersede``): the
    # name is added, and the old one stays (it finds no lines any more).
    with tenant_scope(tenant.tenant_id):
        session.execute(
            update(Transaction)
            .where(Transaction.counterparty_name == "Pending Payer")
            .values(counterparty_name="Booked Payer", status="booked")
        )
        session.commit()
    assert _names(session, tenant.tenant_id) == [
        ACME,
        "Bolt Bikes",
        "Booked Payer",
        "Pending Payer",
    ]


def _ids(api, **query) -> list[str]:
    response = api.get("transactions", query_string=query)
    assert response.status_code == 200, response.json
    return [t["id"] for t in response.json["data"]]


def _walks(api, q: str) -> tuple[list[str], list[str], list[str]]:
    """Every id at once; three to a page newest first; three to a page from the oldest back."""
    forward, after = [], {}
    while page := _ids(api, q=q, limit=3, **after):
        forward += page
        after = {"starting_after": page[-1]}
    backward, before = [], {"ending_before": forward[-1]}
    while page := _ids(api, q=q, limit=3, **before):
        backward = page + backward
        before = {"ending_before": page[0]}
    return _ids(api, q=q, limit=100), forward, backward


@contextmanager
def _function_calls():
    """The parameters of every call of a search function, per function."""
    calls: dict[str, list[list]] = {}

    def record(_conn, _cursor, statement, parameters, *_rest):
        for function in ("payymo_search_transactions", search_names.FUNCTION):
            if f"{function}(" in statement:
                calls.setdefault(function, []).append(list(parameters.values()))

    event.listen(db.engine(), "before_cursor_execute", record)
    try:
        yield calls
    finally:
        event.remove(db.engine(), "before_cursor_execute", record)


@pytest.fixture
def payers(api, indexes):
    """A payer under two spellings; its name in other lines' remittance (one of them
    nameless) and in both columns of a line; others."""
    _import(
        api,
        [
            *(_line(n, ACME) for n in range(0, 12)),
            *(_line(n, "ACME WIDGETS LTD (UK)") for n in range(12, 16)),
            *(_line(n, "Other Co", f"Refund to {ACME}") for n in range(16, 19)),
            *(_line(n, None, f"{ACME} invoice {n}") for n in range(19, 21)),
            *(_line(n, ACME, f"From {ACME}") for n in range(21, 23)),
            *(_line(n, f"Filler {n} GmbH") for n in range(23, 40)),
        ],
    )


@pytest.mark.parametrize(
    ("q", "names"),
    [("Acme Widgets", 2), ("acme widgets ltd", 2), ("Widgets Ltd (UK)", 1), ("Refund to", 0)],
)
def test_a_payer_search_reads_the_names_then_their_lines_and_finds_what_like_finds(
    payers, api, tenant, session, monkeypatch, q, names
):
    monkeypatch.setattr(search, "INDEXED_FROM", 10**9)
    plain = _walks(api, q)
    monkeypatch.setattr(search, "INDEXED_FROM", 0)
    with _function_calls() as calls:
        assert _walks(api, q) == plain
    everything, forward, backward = plain
    assert everything and forward == everything and backward == everything[:-1]
    # Each page looked the names up, then searched the lines' other columns only: the
    # term's pattern went to the function once (remittance), not twice (name too).
    pages = len(calls[search_names.FUNCTION])
    assert pages == len(calls["payymo_search_transactions"]) > 3
    assert all(params.count(f"%{q}%") == 1 for params in calls["payymo_search_transactions"])
    with tenant_scope(tenant.tenant_id):
        pattern = f"%{escape_like(q)}%"
        found = search_names.find(session, exact=pattern, loose=pattern, at_most=10)
    assert len(found) == names


def test_more_names_than_are_read_one_by_one_leave_the_lines_to_the_function(
    payers, api, monkeypatch
):
    monkeypatch.setattr(search, "INDEXED_FROM", 10**9)
    plain = _walks(api, "Acme Widgets")
    monkeypatch.setattr(search, "INDEXED_FROM", 0)
    monkeypatch.setattr(search, "NAMES_AT_MOST", 1)
    with _function_calls() as calls:
        assert _walks(api, "Acme Widgets") == plain
    assert all(p.count("%Acme Widgets%") == 2 for p in calls["payymo_search_transactions"])
