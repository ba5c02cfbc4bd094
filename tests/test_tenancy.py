"""tenancy.py: criteria on every select (aliases, relationships, lazy loads), flush guard,
no-tenant queries raise, system_scope bypasses, cross-tenant misses are security events."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import aliased

from payymo import tenancy
from payymo.errors import NotFound
from payymo.models import BankAccount, Invoice, Tenant, Transaction
from payymo.services import tenants as tenant_service
from payymo.tenancy import system_scope, tenant_scope


@dataclass
class World:
    """Two tenants' rows (no row can point across the boundary: see test_tenant_wall)."""

    a: str
    b: str
    a_account: BankAccount
    b_account: BankAccount
    a_txn: Transaction
    b_txn: Transaction
    a_invoice: Invoice


def _txn(account: BankAccount, key: str, amount: int, **kw) -> Transaction:
    return Transaction(account_id=account.id, dedupe_key=key, amount=amount, currency="EUR", **kw)


def _invoice(external_id: str, **kw) -> Invoice:
    return Invoice(external_id=external_id, amount_due=1000, currency="EUR", metadata_={}, **kw)


@pytest.fixture
def world(session) -> World:
    a = tenant_service.create_tenant(session=session, name="Tenant A").id
    b = tenant_service.create_tenant(session=session, name="Tenant B").id
    with tenant_scope(a):
        a_account = BankAccount(name="A main", currency="EUR")
        session.add(a_account)
        session.flush()
        a_txn = _txn(a_account, "a-1", 100)
        a_invoice = _invoice("A-INV-1")
        session.add_all([a_txn, a_invoice])
        session.flush()
    with tenant_scope(b):
        b_account = BankAccount(name="B main", currency="EUR")
        session.add(b_account)
        session.flush()
        b_txn = _txn(b_account, "b-1", 200)
        session.add_all([b_txn, _invoice("B-INV-1")])
        session.flush()
    session.commit()
    return World(
        a,
        b,
        a_account,
        b_account,
        a_txn,
        b_txn,
        a_invoice,
    )


def test_query_without_tenant_context_raises(session, world):
    with pytest.raises(tenancy.NoTenantContext):
        session.scalars(select(Invoice)).all()
    with pytest.raises(tenancy.NoTenantContext):
        session.scalar(select(func.count(Transaction.id)))
    with pytest.raises(tenancy.NoTenantContext):
        session.execute(update(Invoice).values(number="X"))
    with pytest.raises(tenancy.NoTenantContext):
        session.execute(delete(BankAccount))
    with pytest.raises(tenancy.NoTenantContext):
        tenancy.current_tenant_id()


def test_unscoped_models_need_no_tenant(session, world):
    names = set(session.scalars(select(Tenant.name)))
    assert {"Tenant A", "Tenant B"} <= names


def test_system_scope_bypasses_and_is_explicit(session, world):
    with system_scope():
        externals = set(session.scalars(select(Invoice.external_id)))
        assert {"A-INV-1", "B-INV-1"} <= externals
    # Leaving the block restores the guard.
    with pytest.raises(tenancy.NoTenantContext):
        session.scalars(select(Invoice)).all()


def test_tenant_scope_nested_inside_system_scope_is_scoped_again(session, world):
    with system_scope(), tenant_scope(world.a):
        assert set(session.scalars(select(Invoice.external_id))) == {"A-INV-1"}


def test_every_select_is_filtered(session, world):
    with tenant_scope(world.b):
        assert set(session.scalars(select(Invoice.external_id))) == {"B-INV-1"}
        assert session.scalar(select(func.count()).select_from(Transaction)) == 1
        assert session.scalars(select(Invoice).where(Invoice.id == world.a_invoice.id)).all() == []
        sub = select(BankAccount.name).subquery()
        assert [r[0] for r in session.execute(select(sub))] == ["B main"]


def test_aliases_are_filtered(session, world):
    account = aliased(BankAccount)
    other = aliased(Transaction, name="t2")
    with tenant_scope(world.b):
        assert list(session.scalars(select(account.name))) == ["B main"]
        rows = session.execute(
            select(Transaction.dedupe_key, account.name).join(
                account, account.id == Transaction.account_id
            )
        ).all()
        assert rows == [("b-1", "B main")]
        pairs = session.execute(
            select(Transaction.dedupe_key, other.dedupe_key).join(
                other, other.account_id == Transaction.account_id
            )
        ).all()
        assert pairs == [("b-1", "b-1")]


def test_relationship_joins_and_eager_loads_are_filtered(session, world):
    from sqlalchemy.orm import joinedload, selectinload

    with tenant_scope(world.b):
        joined = session.execute(
            select(Transaction.dedupe_key, BankAccount.name).join(Transaction.account)
        ).all()
        assert joined == [("b-1", "B main")]
        session.expunge_all()
        loaded = session.scalars(select(Transaction).options(joinedload(Transaction.account)))
        assert {t.dedupe_key: t.account and t.account.name for t in loaded} == {"b-1": "B main"}
        session.expunge_all()
        accounts = session.scalars(
            select(BankAccount).options(selectinload(BankAccount.transactions))
        ).all()
        assert [(a.name, [t.dedupe_key for t in a.transactions]) for a in accounts] == [
            ("B main", ["b-1"])
        ]


def test_lazy_loads_are_filtered_with_objects_still_in_the_session(session, world):
    # Every row of both tenants is still in this session's identity map.
    with tenant_scope(world.b):
        # Many-to-one: A's row, carried into B's scope; its account is in the session.
        assert world.a_txn.account is None
        assert world.b_txn.account is world.b_account
        # One-to-many: A's account, touched under B, holds none of B's rows.
        assert world.a_account.transactions == []
        assert [t.dedupe_key for t in world.b_account.transactions] == ["b-1"]


def test_lazy_loads_are_filtered_in_a_fresh_session(session, world):
    session.expunge_all()
    with tenant_scope(world.b):
        by_key = {t.dedupe_key: t for t in session.scalars(select(Transaction))}
        assert set(by_key) == {"b-1"}
        assert by_key["b-1"].account.name == "B main"
        assert [t.dedupe_key for t in by_key["b-1"].account.transactions] == ["b-1"]
    session.expunge_all()
    with tenant_scope(world.a):
        account = session.scalars(select(BankAccount)).one()
        assert account.name == "A main"
        assert [t.dedupe_key for t in account.transactions] == ["a-1"]


def test_lazy_load_of_an_object_carried_into_another_scope(session, world):
    session.expunge_all()
    with tenant_scope(world.a):
        account = session.scalars(select(BankAccount)).one()
    with tenant_scope(world.b):
        # A's account object, first touched under B: its collection loads with B's criteria.
        keys = [t.dedupe_key for t in account.transactions]
    assert keys == []


def test_bulk_update_and_delete_only_touch_the_tenant_in_scope(session, world):
    with tenant_scope(world.b):
        assert session.execute(update(Invoice).values(number="B-ONLY")).rowcount == 1
        assert session.execute(delete(Transaction)).rowcount == 1
    session.expunge_all()
    with tenant_scope(world.a):
        invoice = session.scalars(select(Invoice)).one()
        assert invoice.number is None
        assert session.scalar(select(func.count()).select_from(Transaction)) == 1


def test_flush_stamps_new_objects_with_the_tenant_in_scope(session, world):
    with tenant_scope(world.b):
        invoice = _invoice("B-NEW")
        session.add(invoice)
        session.flush()
    assert invoice.tenant_id == world.b


def test_flush_refuses_a_new_object_of_another_tenant(session, world):
    with tenant_scope(world.b):
        session.add(_invoice("SNEAKY", tenant_id=world.a))
        with pytest.raises(tenancy.CrossTenantWrite):
            session.flush()
    session.rollback()


def test_flush_refuses_to_change_an_object_of_another_tenant(session, world):
    with tenant_scope(world.b):
        world.a_invoice.number = "HIJACKED"
        with pytest.raises(tenancy.CrossTenantWrite):
            session.flush()
    session.rollback()
    with tenant_scope(world.a):
        session.expunge_all()
        assert session.scalars(select(Invoice.number)).one() is None


def test_flush_refuses_to_delete_an_object_of_another_tenant(session, world):
    with tenant_scope(world.b):
        session.delete(world.a_invoice)
        with pytest.raises(tenancy.CrossTenantWrite):
            session.flush()
    session.rollback()


def test_flush_refuses_a_new_object_with_no_tenant(session, world):
    session.add(_invoice("ORPHAN"))
    with pytest.raises(tenancy.NoTenantContext):
        session.flush()
    session.rollback()


def test_get_or_404_hides_other_tenants_and_logs_a_security_event(session, world, caplog):
    caplog.set_level(logging.WARNING, logger="payymo.security")
    with tenant_scope(world.a):
        assert tenancy.get_or_404(session, Invoice, world.a_invoice.id) is world.a_invoice
    assert not caplog.records
    with tenant_scope(world.b), pytest.raises(NotFound) as exc:
        tenancy.get_or_404(session, Invoice, world.a_invoice.id, param="invoice")
    assert exc.value.status == 404
    assert exc.value.param == "invoice"
    records = [r for r in caplog.records if r.name == "payymo.security"]
    assert len(records) == 1
    assert records[0].event == "security.cross_tenant_access"
    assert records[0].resource_id == world.a_invoice.id
    assert records[0].tenant_id == world.b


def test_get_or_404_of_a_missing_id_is_not_a_security_event(session, world, caplog):
    caplog.set_level(logging.WARNING, logger="payymo.security")
    with tenant_scope(world.b), pytest.raises(NotFound):
        tenancy.get_or_404(session, Invoice, "inv_00000000000000000000000000")
    assert not [r for r in caplog.records if r.name == "payymo.security"]


def test_flush_refuses_to_move_an_object_into_the_tenant_in_scope(session, world):
    with tenant_scope(world.b):
        world.a_invoice.tenant_id = world.b
        with pytest.raises(tenancy.CrossTenantWrite):
            session.flush()
    session.rollback()


def test_flush_refuses_to_move_an_own_object_to_another_tenant(session, world):
    with tenant_scope(world.a):
        world.a_invoice.tenant_id = world.b
        with pytest.raises(tenancy.CrossTenantWrite):
            session.flush()
    session.rollback()
