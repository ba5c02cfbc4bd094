"""The second wall: what the ORM hooks do not see, the database (or the engine hook) stops.

Raw SQL, Core statements, bulk inserts and COPY bypass the ORM's criteria. On
PostgreSQL, row-level security keyed by the transaction's tenant setting hides other
tenants' rows from them and refuses writes carrying another tenant; composite foreign
keys refuse a row pointing at another tenant's row on both backends; Core statements
and ``get()`` with no tenant in scope raise like ORM selects.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from payymo import tenancy
from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import BankAccount, Event, Invoice, MatchBlock, Transaction
from payymo.services import tenants as tenant_service
from payymo.services.reconciliation.write import _copy
from payymo.tenancy import policies, system_scope, tenant_scope
from payymo.tenancy.tables import scoped_table_names
from tests.conftest import APP_ROLE

postgres = pytest.mark.postgres
RLS_REFUSED = "42501"  # insufficient_privilege: "new row violates row-level security policy"


@pytest.fixture
def two(session):
    """Tenants A and B, each with an account, a credit and an invoice (ids only)."""
    ids = {}
    for name in ("a", "b"):
        tenant = tenant_service.create_tenant(session=session, name=f"Tenant {name.upper()}")
        with tenant_scope(tenant.id):
            account = BankAccount(name=f"{name} main", currency="EUR")
            session.add(account)
            session.flush()
            txn = Transaction(
                account_id=account.id, dedupe_key=f"{name}-1", amount=100, currency="EUR"
            )
            invoice = Invoice(
                external_id=f"{name}-inv", amount_due=100, currency="EUR", metadata_={}
            )
            session.add_all([txn, invoice])
            session.flush()
        ids[name] = {
            "tenant": tenant.id,
            "account": account.id,
            "txn": txn.id,
            "invoice": invoice.id,
        }
    session.commit()
    session.expunge_all()
    return ids


def _refused(exc: pytest.ExceptionInfo, sqlstate: str) -> None:
    assert getattr(exc.value.orig, "sqlstate", None) == sqlstate, exc.value.orig


# -- both backends --------------------------------------------------------------------------


def test_a_row_pointing_at_another_tenants_row_is_refused_by_the_database(session, two):
    a, b = two["a"], two["b"]
    with system_scope(), pytest.raises(IntegrityError), session.begin_nested():
        # A transaction of B's in A's account: system scope lets the ORM write it.
        session.add(
            Transaction(
                tenant_id=b["tenant"],
                account_id=a["account"],
                dedupe_key="planted",
                amount=1,
                currency="EUR",
            )
        )
        session.flush()
    with tenant_scope(b["tenant"]), pytest.raises(IntegrityError), session.begin_nested():
        # A Core insert under B naming A's invoice.
        session.execute(
            insert(MatchBlock).values(
                id=new_id("blk"),
                tenant_id=b["tenant"],
                transaction_id=b["txn"],
                invoice_id=a["invoice"],
                reason="rejected",
                created_at=utcnow(),
            )
        )


def test_core_statements_with_no_tenant_in_scope_raise(session, two):
    table = Invoice.__table__
    with pytest.raises(tenancy.NoTenantContext):
        session.connection().execute(select(table.c.id))
    with pytest.raises(tenancy.NoTenantContext):
        session.connection().execute(update(table).values(number="X"))
    with pytest.raises(tenancy.NoTenantContext):
        session.connection().execute(
            insert(Event.__table__).values(
                id=new_id("evt"), type="x", data={}, created_at=utcnow(), tenant_id="ten_x"
            )
        )
    with system_scope():
        assert len(session.connection().execute(select(table.c.id)).all()) == 2


def test_get_obeys_the_scope_even_from_the_identity_map(session, two):
    a, b = two["a"], two["b"]
    with tenant_scope(a["tenant"]):
        invoice = session.get(Invoice, a["invoice"])
        assert invoice is not None
    # The object is in the identity map now; get() must not hand it to B or to no one.
    with tenant_scope(b["tenant"]):
        assert session.get(Invoice, a["invoice"]) is None
    with pytest.raises(tenancy.NoTenantContext):
        session.get(Invoice, a["invoice"])
    with system_scope():
        assert session.get(Invoice, a["invoice"]) is invoice


# -- PostgreSQL row-level security -------------------------------------------------------


@postgres
def test_raw_sql_under_a_tenant_sees_none_of_anothers_rows(session, two):
    a, b = two["a"], two["b"]
    with tenant_scope(b["tenant"]):
        invoices = session.execute(text("SELECT id FROM invoices")).scalars().all()
        txns = session.execute(text("SELECT id FROM transactions")).scalars().all()
        by_id = session.execute(
            text("SELECT count(*) FROM invoices WHERE id = :id"), {"id": a["invoice"]}
        ).scalar_one()
    assert (invoices, txns, by_id) == ([b["invoice"]], [b["txn"]], 0)
    with system_scope():
        seen = set(session.execute(text("SELECT id FROM invoices")).scalars())
    assert {a["invoice"], b["invoice"]} <= seen


@postgres
def test_raw_sql_with_no_tenant_sees_nothing(session, two):
    assert session.execute(text("SELECT count(*) FROM invoices")).scalar_one() == 0
    assert session.execute(text("SELECT count(*) FROM transactions")).scalar_one() == 0


@postgres
def test_raw_writes_carrying_another_tenant_fail_in_the_database(session, two):
    a, b = two["a"], two["b"]
    with tenant_scope(b["tenant"]):
        # An update aimed at A's row finds nothing to update.
        hit = session.execute(
            text("UPDATE invoices SET number = 'X' WHERE id = :id"), {"id": a["invoice"]}
        )
        assert hit.rowcount == 0
        # Moving B's own row to A is refused.
        with pytest.raises(DBAPIError) as moved, session.begin_nested():
            session.execute(
                text("UPDATE invoices SET tenant_id = :a WHERE id = :id"),
                {"a": a["tenant"], "id": b["invoice"]},
            )
        _refused(moved, RLS_REFUSED)
        # Inserting a row of A's while B is in scope is refused.
        with pytest.raises(DBAPIError) as inserted, session.begin_nested():
            session.execute(
                text(
                    "INSERT INTO bank_accounts (id, tenant_id, kind, name, currency, "
                    "created_at, updated_at) VALUES (:id, :a, 'manual', 'x', 'EUR', now(), now())"
                ),
                {"id": new_id("ba"), "a": a["tenant"]},
            )
        _refused(inserted, RLS_REFUSED)
    with system_scope():
        number = session.execute(
            text("SELECT number FROM invoices WHERE id = :id"), {"id": a["invoice"]}
        ).scalar_one()
    assert number is None


@postgres
def test_the_copy_path_cannot_write_another_tenants_rows(session, two):
    a, b = two["a"], two["b"]

    def event(tenant_id: str) -> dict:
        return {
            "id": new_id("evt"),
            "tenant_id": tenant_id,
            "type": "test.copied",
            "data": {"n": 1},
            "request_id": None,
            "created_at": utcnow(),
        }

    with tenant_scope(b["tenant"]):
        with pytest.raises(DBAPIError) as crossed, session.begin_nested():
            _copy(session, Event, [event(b["tenant"]), event(a["tenant"])])
        _refused(crossed, RLS_REFUSED)
        _copy(session, Event, [event(b["tenant"])])
        copied = session.execute(
            text("SELECT tenant_id FROM events WHERE type = 'test.copied'")
        ).scalars()
        assert list(copied) == [b["tenant"]]


@postgres
def test_every_tenant_table_is_behind_a_forced_policy(session):
    rows = session.execute(
        text(
            "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity, "
            "       (SELECT count(*) FROM pg_policies p "
            "         WHERE p.tablename = c.relname AND p.policyname = :policy) "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r'"
        ),
        {"policy": policies.POLICY},
    ).all()
    walled = {name for name, enabled, forced, count in rows if enabled and forced and count == 1}
    assert scoped_table_names() <= walled, scoped_table_names() - walled
    assert "tenants" not in walled  # the root row is looked up before any tenant is known


@postgres
def test_the_app_connects_as_a_role_row_level_security_applies_to(session):
    role = session.execute(
        text(
            "SELECT current_user, rolsuper, rolbypassrls, "
            "       (SELECT count(*) FROM pg_tables WHERE tableowner = current_user "
            "          AND schemaname = current_schema()) "
            "FROM pg_roles WHERE rolname = current_user"
        )
    ).one()
    assert tuple(role) == (APP_ROLE, False, False, 0)


@postgres
def test_every_policy_admits_the_tenant_in_the_setting_and_nothing_else(session):
    # Migrated as a superuser: the system scope is a role, not a branch of the policy.
    forms = session.execute(
        text(
            "SELECT DISTINCT qual, with_check FROM pg_policies "
            "WHERE schemaname = current_schema() AND policyname = :policy"
        ),
        {"policy": policies.POLICY},
    ).all()
    assert [tuple(form) for form in forms] == [
        ("((tenant_id)::text = current_setting('payymo.tenant_id'::text, true))",) * 2
    ]
    assert policies.condition_in_use(session.connection()) == policies.CONDITION


@postgres
def test_the_setting_and_the_role_follow_the_scope_within_one_transaction(session, two):
    a = two["a"]
    read = text("SELECT current_setting('payymo.tenant_id', true), current_user")
    with tenant_scope(a["tenant"]):
        assert tuple(session.execute(read).one()) == (a["tenant"], APP_ROLE)
        with system_scope():
            assert tuple(
                session.execute(
                    text("SELECT current_setting('payymo.system', true), current_user")
                ).one()
            ) == ("on", policies.SYSTEM_ROLE)
            # A walled table: the role sees both tenants' lines, past the policy.
            assert session.scalar(select(func.count(Transaction.tenant_id.distinct()))) >= 2
        assert tuple(session.execute(read).one()) == (a["tenant"], APP_ROLE)
    assert tuple(session.execute(read).one()) in (("", APP_ROLE), (None, APP_ROLE))
    # A rolled-back savepoint reverts the setting: the next statement sets it again.
    with system_scope():
        nested = session.begin_nested()
        session.execute(read)
        nested.rollback()
        assert session.execute(text("SELECT current_user")).scalar_one() == policies.SYSTEM_ROLE
    with tenant_scope(a["tenant"]):
        nested = session.begin_nested()
        session.execute(read)
        nested.rollback()
        assert tuple(session.execute(read).one()) == (a["tenant"], APP_ROLE)


@postgres
def test_the_policy_leaves_a_tenants_row_estimate_to_the_query(session, two):
    # The policy's equality joins the query's own tenant condition: a tenant of 100
    # lines beside one of 900 is expected to have about 100, not a share of them.
    lines = {"a": 100, "b": 900}
    for name, count in lines.items():
        with tenant_scope(two[name]["tenant"]):
            session.execute(
                insert(Transaction),
                [
                    {
                        "tenant_id": two[name]["tenant"],
                        "account_id": two[name]["account"],
                        "dedupe_key": f"estimate-{n}",
                        "amount": n,
                        "currency": "EUR",
                    }
                    for n in range(count - 1)
                ],
            )
    session.execute(text("SELECT payymo_analyze('transactions')"))
    a = two["a"]["tenant"]
    with tenant_scope(a):
        plan = session.execute(
            text("EXPLAIN (FORMAT JSON) SELECT id FROM transactions WHERE tenant_id = :t"),
            {"t": a},
        ).scalar_one()
    assert 80 <= plan[0]["Plan"]["Plan Rows"] <= 125, plan
