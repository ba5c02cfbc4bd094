"""Dedupe keys already in an account: found in any number, only in that account."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from payymo.db import utcnow
from payymo.models import BankAccount
from payymo.services.banking.ingest import insert_with_events, new_record
from payymo.services.transactions import KEY_CHUNK, existing_keys
from payymo.tenancy import tenant_scope
from tests.reconcile_world import account


def _lines(session, tenant_id: str, account_id: str, count: int) -> dict[str, str]:
    rows = [
        {"id": f"line-{n}", "status": "booked", "amount": 100 + n, "currency": "EUR"}
        for n in range(count)
    ]
    now = utcnow()
    with tenant_scope(tenant_id):
        session.get(BankAccount, account_id)  # begins the tenant's transaction (row security)
        records = [
            new_record(row, account_id=account_id, key=f"id:line-{n}", now=now)
            for n, row in enumerate(rows)
        ]
        insert_with_events(session, records)
        session.commit()
    return {record["dedupe_key"]: record["id"] for record in records}


def test_keys_past_one_chunk_are_found_in_their_account_only(session, tenant, other_tenant):
    mine = account(session, tenant.tenant_id)
    theirs = account(session, other_tenant.tenant_id)
    known = _lines(session, tenant.tenant_id, mine, KEY_CHUNK + 7)
    _lines(session, other_tenant.tenant_id, theirs, 3)
    asked = [*known, "id:line-missing", "id:line-3"]  # one unknown, one asked twice
    with tenant_scope(tenant.tenant_id):
        for _ in range(6):  # past psycopg's prepare threshold: the same answer every time
            assert existing_keys(session, mine, asked) == known
        assert existing_keys(session, mine, []) == {}
    with tenant_scope(other_tenant.tenant_id):
        assert set(existing_keys(session, theirs, asked)) == {"id:line-0", "id:line-1", "id:line-2"}
        assert existing_keys(session, mine, asked) == {}  # another tenant's account


def test_custom_plans_leave_the_planner_as_they_found_it(session, tenant):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("plan_cache_mode is PostgreSQL's")
    mine = account(session, tenant.tenant_id)
    with tenant_scope(tenant.tenant_id):
        session.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))
        existing_keys(session, mine, ["id:x"])
        assert session.scalar(text("SHOW plan_cache_mode")) == "force_generic_plan"
