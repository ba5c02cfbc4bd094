"""Planner statistics: a table that grew since its statistics is analyzed, as the owner."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, text
from sqlalchemy.exc import DBAPIError

from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import BankAccount, Suggestion, Transaction
from payymo.services import table_statistics
from payymo.tenancy import tenant_scope

pytestmark = pytest.mark.postgres


def _reltuples(session, name: str) -> float:
    return session.scalar(
        text("SELECT reltuples FROM pg_class WHERE oid = CAST(:n AS regclass)"), {"n": name}
    )


def test_a_table_that_grew_is_analyzed_and_then_counts_as_fresh(session, tenant, monkeypatch):
    monkeypatch.setattr(table_statistics, "MIN_PAGES", 1)  # test data is small
    monkeypatch.setattr(table_statistics, "GROWTH", 1.0)  # any growth at all
    table_statistics.refresh_if_stale(session=session)  # start from fresh statistics
    assert table_statistics.stale_tables(session) == []
    before = _reltuples(session, "transactions")
    now = utcnow()
    with tenant_scope(tenant.tenant_id):
        account = BankAccount(id=new_id("ba"), name="Main", currency="EUR", kind="manual")
        session.add(account)
        session.flush()
        rows = [
            {
                "id": new_id("txn"), "tenant_id": tenant.tenant_id, "account_id": account.id,
                "dedupe_key": f"id:S{n}", "status": "booked", "amount": n, "currency": "EUR",
                "amount_allocated": 0, "match_status": "unmatched", "created_at": now,
                "updated_at": now,
            }
            for n in range(3000)
        ]  # fmt: skip
        session.execute(insert(Transaction), rows)
        assert table_statistics.stale_tables(session) == ["transactions"]
        assert table_statistics.refresh_if_stale(session=session) == ["transactions"]
        assert table_statistics.stale_tables(session) == []
        # The analyze saw this test's rows (rows other tests committed and deleted may
        # still be in ``before``: a table that shrank is not stale, so not re-analyzed).
        after = _reltuples(session, "transactions")
        assert after >= 3000 and after != before


def test_the_app_role_may_analyze_only_the_listed_tables(session):
    assert session.scalar(text("SELECT current_user")) == "payymo_test_app"
    with pytest.raises(DBAPIError, match="not a table it may analyze"):
        session.execute(text("SELECT payymo_analyze('tenants')"))


def test_suggestions_written_in_a_burst_are_analyzed_by_the_next_run(session, tenant, monkeypatch):
    # A full run writes a tenant's suggestions at once; incremental runs then look them
    # up by credit, planned on these statistics (migration 0031 lets the app's role).
    monkeypatch.setattr(table_statistics, "MIN_PAGES", 1)
    monkeypatch.setattr(table_statistics, "GROWTH", 1.0)
    tables = table_statistics.LOOKUP_TABLES
    table_statistics.refresh_if_stale(session=session, tables=tables)
    assert table_statistics.stale_tables(session, tables) == []
    now = utcnow()
    with tenant_scope(tenant.tenant_id):
        account = BankAccount(id=new_id("ba"), name="Main", currency="EUR", kind="manual")
        session.add(account)
        session.flush()
        credit = {
            "id": new_id("txn"), "tenant_id": tenant.tenant_id, "account_id": account.id,
            "dedupe_key": "id:S", "status": "booked", "amount": 100, "currency": "EUR",
            "amount_allocated": 0, "match_status": "suggested", "created_at": now,
            "updated_at": now,
        }  # fmt: skip
        session.execute(insert(Transaction), [credit])
        session.execute(
            insert(Suggestion),
            [
                {
                    "id": new_id("sug"), "tenant_id": tenant.tenant_id,
                    "transaction_id": credit["id"], "allocations": [], "invoice_ids": [],
                    "confidence": 0.5, "reasons": [], "rank": n, "status": "open",
                    "created_at": now,
                }
                for n in range(2000)
            ],
        )  # fmt: skip
        assert table_statistics.stale_tables(session, tables) == ["suggestions"]
        assert table_statistics.refresh_if_stale(session=session, tables=tables) == ["suggestions"]
        assert table_statistics.stale_tables(session, tables) == []
