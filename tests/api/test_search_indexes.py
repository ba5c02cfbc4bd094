"""Substring search on PostgreSQL: trigram indexes, read through functions the policy allows."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import create_engine, delete, event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payymo import db
from payymo.db import utcnow
from payymo.models import SearchTrigram, Transaction
from payymo.services import search, search_indexes
from payymo.tenancy import system_scope, tenant_scope
from tasks.maintenance import merge_search_lists
from tests.conftest import PG_URL
from tests.helpers import invoice_body

pytestmark = pytest.mark.postgres


@pytest.fixture
def unsampled(session):
    """No common trigrams on record, within the test's transaction: a sweep of an earlier
    test (a real worker's, committed) may have sampled them."""
    with system_scope():
        session.execute(delete(SearchTrigram))
        session.flush()


def test_the_migrations_make_the_functions_and_leave_the_indexes_to_the_operator(app):
    with db.engine().connect() as conn:
        assert search_indexes.functions_missing(conn) == []
        assert search_indexes.missing(conn) == list(search_indexes.INDEXES)
        assert not any(search_indexes.ready(conn, s) for s in search_indexes.SEARCHES)


def test_built_indexes_make_every_search_ready(indexes):
    assert indexes == list(search_indexes.INDEXES)
    with db.engine().connect() as conn:
        assert all(search_indexes.ready(conn, s) for s in search_indexes.SEARCHES)


def _pending_limits(conn) -> dict[str, list | None]:
    rows = conn.execute(
        text("SELECT relname, reloptions FROM pg_class WHERE relname = ANY(:names)"),
        {"names": list(search_indexes.INDEXES)},
    )
    return dict(rows.all())


def test_every_trigram_index_gets_the_pending_list_limit(indexes):
    # Built or found (an index built under migration 0032's shorter limit), each index
    # gets the limit.
    wanted = [f"gin_pending_list_limit={search_indexes.PENDING_LIST_KB}"]
    owner = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with owner.connect() as conn:
            assert _pending_limits(conn) == dict.fromkeys(search_indexes.INDEXES, wanted)
            name = next(iter(search_indexes.INDEXES))
            conn.execute(text(f"ALTER INDEX {name} SET (gin_pending_list_limit = 256)"))
            assert _pending_limits(conn)[name] == ["gin_pending_list_limit=256"]
            assert search_indexes.build_missing(conn) == []
            assert _pending_limits(conn)[name] == wanted
    finally:
        owner.dispose()


def test_the_sweep_merges_the_pending_lists_which_the_apps_role_may_not_itself(indexes, api):
    account = api.post("bank_accounts", json={"name": "A", "currency": "EUR"}).json["id"]
    body = {"account_id": account, "transactions": _lines(50)}
    assert api.post("transactions/import", json=body).status_code == 200
    name = "ix_transactions_remittance_information_trgm"
    with db.engine().connect() as conn:  # the app's role
        with pytest.raises(DBAPIError, match="must be owner"), conn.begin_nested():
            conn.execute(text(f"SELECT gin_clean_pending_list('{name}'::regclass)"))
        assert merge_search_lists(Session(bind=conn)) > 0
        assert search_indexes.merge_pending_lists(conn) == 0  # nothing left to merge


@pytest.mark.parametrize("search", search_indexes.SEARCHES, ids=lambda s: s.function)
def test_each_search_function_reads_its_trigram_indexes(indexes, search):
    matches = " OR ".join(f"{c} ILIKE '%INV-0001234%'" for c in search.columns)
    # As the functions' role, no policy stands between the ILIKE and the index (as the
    # app's role one does: ILIKE is not leakproof). On an empty table the planner would
    # rather read the tenant index, so the query names no tenant.
    query = f"SELECT id FROM {search.table} WHERE {matches}"  # noqa: S608
    owner = create_engine(PG_URL)
    try:
        with owner.connect() as conn:
            conn.execute(text(f"SET ROLE {search_indexes.ROLE}"))
            conn.execute(text("SET enable_seqscan = off"))
            plan = "\n".join(conn.execute(text(f"EXPLAIN {query}")).scalars())
            conn.rollback()
    finally:
        owner.dispose()
    for column in search.columns:
        assert f"ix_{search.table}_{column}_trgm" in plan, plan


def test_a_search_returns_only_the_tenants_own_rows(api, other_api, tenant, other_tenant, session):
    for client in (api, other_api):
        account = client.post("bank_accounts", json={"name": "A", "currency": "EUR"}).json["id"]
        line = {
            "id": "l-1",
            "booking_date": "2026-11-20",
            "amount": 100,
            "currency": "EUR",
            "remittance_information": "Payment INV-SHARED-7",
        }
        client.post("transactions/import", json={"account_id": account, "transactions": [line]})
        client.post("invoices", json=invoice_body(customer_name="Shared Customer GmbH"))
    [mine] = api.get("transactions", query_string={"q": "shared-7"}).json["data"]
    with tenant_scope(tenant.tenant_id):
        assert session.get(Transaction, mine["id"]) is not None
        found = session.execute(
            select(text("id")).select_from(
                text(
                    "payymo_search_transactions('%SHARED-7%', '%SHARED-7%', '%SHARED-7%', "
                    "'%SHARED%', '%SHARED%', '%SHARED%') AS f(id)"
                )
            )
        ).scalars()
        assert list(found) == [mine["id"]]
    assert [i["customer_name"] for i in api.get("invoices?customer=shared").json["data"]] == [
        "Shared Customer GmbH"
    ]
    with tenant_scope(other_tenant.tenant_id):
        assert session.get(Transaction, mine["id"]) is None


@pytest.mark.parametrize(("indexed_from", "through_function"), [(0, True), (10**9, False)])
def test_a_big_tenant_searches_through_the_function_a_small_one_reads_its_rows(
    indexes, api, tenant, monkeypatch, indexed_from, through_function
):
    monkeypatch.setattr(search, "INDEXED_FROM", indexed_from)
    account = api.post("bank_accounts", json={"name": "A", "currency": "EUR"}).json["id"]
    line = {
        "id": "l-1",
        "booking_date": "2026-11-20",
        "amount": 100,
        "currency": "EUR",
        "remittance_information": "Payment INV-BIG-1",
    }
    api.post("transactions/import", json={"account_id": account, "transactions": [line]})
    api.post("invoices", json=invoice_body(customer_name="Big Customer GmbH"))
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest):
        seen.append(statement)

    event.listen(db.engine(), "before_cursor_execute", record)
    try:
        found = api.get("transactions", query_string={"q": "inv-big"}).json["data"]
        invoices = api.get("invoices", query_string={"customer": "big cust"}).json["data"]
    finally:
        event.remove(db.engine(), "before_cursor_execute", record)
    assert [t["remittance_information"] for t in found] == ["Payment INV-BIG-1"]
    assert [i["customer_name"] for i in invoices] == ["Big Customer GmbH"]
    for function in ("payymo_search_transactions(", "payymo_search_invoice_customers("):
        assert any(function in sql for sql in seen) is through_function


def _lines(count: int) -> list[dict]:
    return [
        {
            "id": f"l-{n}",
            "booking_date": "2026-11-20",
            "amount": 100 + n,
            "currency": "EUR",
            "counterparty_name": f"Customer {n} GmbH",
            "remittance_information": f"Invoice INV-{n:05d} thank you",
        }
        for n in range(count)
    ]


def test_a_search_looks_up_only_the_rare_parts_of_its_term_and_finds_what_like_finds(
    indexes, api, monkeypatch, session
):
    account = api.post("bank_accounts", json={"name": "A", "currency": "EUR"}).json["id"]
    body = {"account_id": account, "transactions": _lines(600)}
    assert api.post("transactions/import", json=body).status_code == 200
    with system_scope():  # as the sweep samples: every tenant's rows
        conn = session.connection()
        assert search_indexes.sample_common_trigrams(conn, utcnow()) > 0
        common = search_indexes.common_trigrams(conn, "transactions")
        session.commit()
    assert {"cus", "tom", "gmb", "mbh"} <= common["counterparty_name"]
    assert {"inv", "voi", "tha", "you"} <= common["remittance_information"]
    assert "424" not in common["counterparty_name"]

    def listed(q: str, indexed_from: int) -> tuple[list[str], list]:
        monkeypatch.setattr(search, "INDEXED_FROM", indexed_from)
        calls: list = []

        def record(_conn, _cursor, statement, parameters, *_rest):
            if "payymo_search_" in statement:
                calls.append(list(parameters.values()))

        event.listen(db.engine(), "before_cursor_execute", record)
        try:
            response = api.get("transactions", query_string={"q": q, "limit": 100})
        finally:
            event.remove(db.engine(), "before_cursor_execute", record)
        assert response.status_code == 200, response.json
        return [t["id"] for t in response.json["data"]], calls

    for q in ("Customer 424 GmbH", "INV-00424", "ustomer 42", "424 gmbh thank", "GmbH"):
        plain, none = listed(q, 10**9)
        indexed, _calls = listed(q, 0)
        assert none == []
        assert indexed == plain, q
    assert listed("Customer 424 GmbH", 0)[0] != []
    [names, lines] = listed("Customer 424 GmbH", 0)[1]
    # The name's looser pattern skips "Customer" and "GmbH", and keeps the space that
    # ends "424" (pg_trgm then looks up "24 " too). It reads the names (the first call);
    # the lines' function then searches the other columns only.
    assert names == ["%Customer 424 GmbH%", "%424 %", search.NAMES_AT_MOST + 1]
    assert "%424 %" not in lines and "%Customer 424 GmbH%" in lines
    # A term made of common trigrams matches so many rows that a walk finds a page soon.
    assert listed("GmbH", 0)[1] == []


def test_only_a_trigram_in_the_common_share_of_values_is_left_to_the_recheck(unsampled, session):
    # "000" in 2% of the values still narrows a search cheaply; "inv" in all does not.
    now = utcnow()
    with system_scope():
        session.add_all(
            SearchTrigram(
                table_name="transactions",
                column_name="remittance_information",
                trigram=trigram,
                share=share,
                sampled_at=now,
            )
            for trigram, share in (
                (search_indexes.SAMPLED, 0.0),
                ("000", 0.02),
                ("inv", 1.0),
                ("123", search_indexes.COMMON_SHARE),
            )
        )
        session.flush()
        common = search_indexes.common_trigrams(session.connection(), "transactions")
    assert common == {"remittance_information": frozenset({"inv", "123"})}
    assert search.narrowed("INV-0001234", common["remittance_information"]) == "%00012%"


def test_the_sweep_samples_the_common_trigrams_once_a_day(indexes, app, unsampled, session):
    from tasks.maintenance import sample_search_trigrams

    now = utcnow()
    with system_scope():
        sample_search_trigrams(session, now)
    conn = session.connection()
    assert not search_indexes.sample_is_stale(conn, now)
    assert search_indexes.sample_is_stale(conn, now + search_indexes.SAMPLE_MAX_AGE * 2)
    first = session.scalar(select(func.min(SearchTrigram.sampled_at)))
    sample_search_trigrams(session, now + dt.timedelta(hours=1))
    later = now + search_indexes.SAMPLE_MAX_AGE * 2
    sample_search_trigrams(session, later)
    assert session.scalar(select(func.min(SearchTrigram.sampled_at))) == later
    assert first == now
