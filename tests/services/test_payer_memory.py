"""Payer memory: people's matches teach payer IBAN/name → customer; the engine reads it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from payymo.matching import types
from payymo.models import Invoice, PayerMemory, Transaction
from payymo.services.allocations import apply_match
from payymo.services.reconciliation import payer_memory
from payymo.tenancy import tenant_scope
from tests.reconciliation_helpers import Seed, count_rows


@pytest.fixture
def seed(session, tenant) -> Seed:
    return Seed(session, tenant.tenant_id)


def _learn(session, tenant, txn_id, invoice_ids) -> int:
    with tenant_scope(tenant.tenant_id):
        txn = session.get(Transaction, txn_id)
        invoices = [session.get(Invoice, i) for i in invoice_ids]
        touched = payer_memory.learn(session, transaction=txn, invoices=invoices)
        session.commit()
        return touched


def _unlearn(session, tenant, txn_id, invoice_ids) -> None:
    with tenant_scope(tenant.tenant_id):
        txn = session.get(Transaction, txn_id)
        invoices = [session.get(Invoice, i) for i in invoice_ids]
        payer_memory.unlearn(session, transaction=txn, invoices=invoices)
        session.commit()


def _rows(session, tenant) -> dict[tuple[str, str, str], int]:
    with tenant_scope(tenant.tenant_id):
        session.expire_all()
        return {
            (row.kind, row.value, row.customer_key): row.confirmations
            for row in session.scalars(select(PayerMemory))
        }


def _load(session, tenant) -> types.PayerMemory:
    with tenant_scope(tenant.tenant_id):
        return payer_memory.load(session)


def test_learning_remembers_the_payers_iban_and_name_for_the_customer(session, tenant, seed):
    invoice = seed.invoice("ERP-1", customer_reference=" cust-7 ")
    txn = seed.transaction(
        counterparty_iban="nl91 abna 0417 1643 00", counterparty_name="INITECH B.V."
    )
    assert _learn(session, tenant, txn, [invoice]) == 2
    assert _rows(session, tenant) == {
        ("iban", "NL91ABNA0417164300", "ref:CUST-7"): 1,
        ("name", "initech", "ref:CUST-7"): 1,
    }
    memory = _load(session, tenant)
    assert memory == types.PayerMemory(
        by_iban={"NL91ABNA0417164300": frozenset({"ref:CUST-7"})},
        by_name={"initech": frozenset({"ref:CUST-7"})},
    )


def test_learning_again_counts_confirmations(session, tenant, seed):
    invoice = seed.invoice("ERP-1")
    first = seed.transaction()
    second = seed.transaction()
    _learn(session, tenant, first, [invoice])
    _learn(session, tenant, second, [invoice])
    assert _rows(session, tenant) == {
        ("iban", "NL91ABNA0417164300", "name:initech"): 2,
        ("name", "initech", "name:initech"): 2,
    }


def test_the_customer_key_falls_back_from_reference_to_name_to_email(session, tenant, seed):
    by_ref = seed.invoice("R", customer_reference="C-1", customer_name="Acme Ltd")
    by_name = seed.invoice("N", customer_name="Globex GmbH")
    by_email = seed.invoice("E", customer_name=None, customer_email="AP@Hooli.example")
    txn = seed.transaction(counterparty_iban=None)
    assert _learn(session, tenant, txn, [by_ref, by_name, by_email]) == 3
    assert _load(session, tenant).by_name == {
        "initech": frozenset({"ref:C-1", "name:globex", "email:ap@hooli.example"})
    }


def test_one_payer_may_pay_for_several_customers(session, tenant, seed):
    a = seed.invoice("A", customer_name="Acme Ltd")
    b = seed.invoice("B", customer_name="Globex GmbH")
    _learn(session, tenant, seed.transaction(), [a])
    _learn(session, tenant, seed.transaction(), [b])
    assert _load(session, tenant).by_iban == {
        "NL91ABNA0417164300": frozenset({"name:acme", "name:globex"})
    }


def test_nothing_is_learned_without_a_payer_or_a_customer(session, tenant, seed):
    anonymous_invoice = seed.invoice("ERP-1", customer_name=None, customer_email=None)
    known_invoice = seed.invoice("ERP-2")
    assert _learn(session, tenant, seed.transaction(), [anonymous_invoice]) == 0
    nobody = seed.transaction(counterparty_iban=None, counterparty_name=" ")
    assert _learn(session, tenant, nobody, [known_invoice]) == 0
    assert _rows(session, tenant) == {}


def test_a_value_too_long_to_store_exactly_is_not_learned(session, tenant, seed):
    invoice = seed.invoice("ERP-1", customer_reference="C-1")
    txn = seed.transaction(counterparty_iban=None, counterparty_name="x" * 255)
    long_name = seed.invoice("ERP-2", customer_name="Y" * 255)
    assert _learn(session, tenant, txn, [invoice]) == 1
    assert _learn(session, tenant, seed.transaction(), [long_name]) == 0
    assert count_rows(PayerMemory) == 1


def test_unlearning_takes_back_one_confirmation_and_forgets_at_zero(session, tenant, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction()
    _learn(session, tenant, txn, [invoice])
    _learn(session, tenant, txn, [invoice])
    _unlearn(session, tenant, txn, [invoice])
    assert set(_rows(session, tenant).values()) == {1}
    _unlearn(session, tenant, txn, [invoice])
    assert _rows(session, tenant) == {}
    assert _load(session, tenant) == types.PayerMemory()
    _unlearn(session, tenant, txn, [invoice])  # nothing left: still nothing, no error
    assert _rows(session, tenant) == {}


def test_each_tenant_loads_only_its_own_memory(session, tenant, other_tenant, seed):
    other = Seed(session, other_tenant.tenant_id)
    _learn(session, tenant, seed.transaction(), [seed.invoice("ERP-1", customer_reference="MINE")])
    _learn(
        session,
        other_tenant,
        other.transaction(),
        [other.invoice("ERP-1", customer_reference="THEIRS")],
    )
    mine, theirs = _load(session, tenant), _load(session, other_tenant)
    assert mine.by_iban == {"NL91ABNA0417164300": frozenset({"ref:MINE"})}
    assert theirs.by_iban == {"NL91ABNA0417164300": frozenset({"ref:THEIRS"})}
    assert count_rows(PayerMemory) == 4


def test_auto_matches_do_not_teach(api, session, tenant, seed):
    invoice = seed.invoice("ERP-1")
    txn = seed.transaction()
    with tenant_scope(tenant.tenant_id):
        apply_match(
            session=session,
            transaction_id=txn,
            allocations=[(invoice, 12_300)],
            method="auto",
            created_by="engine",
        )
        session.commit()
    assert count_rows(PayerMemory) == 0


def test_manual_and_accepted_matches_teach_and_their_reversal_unteaches(api, session, tenant, seed):
    invoice = seed.invoice("ERP-1", amount_due=5_000, customer_reference="C-9")
    other = seed.invoice("ERP-2", amount_due=5_000, customer_reference="C-9")
    manual_txn = seed.transaction(5_000)
    suggested_txn = seed.transaction(5_000)
    manual = api.post(
        "reconciliation/matches",
        json={
            "transaction_id": manual_txn,
            "allocations": [{"invoice_id": invoice, "amount": 5_000}],
        },
    )
    assert manual.status_code == 201
    sug = seed.suggestion(suggested_txn, [(other, 5_000)])
    accepted = api.post(f"reconciliation/suggestions/{sug}/accept")
    assert accepted.status_code == 200
    assert set(_rows(session, tenant).values()) == {2}
    api.delete(f"reconciliation/matches/{manual.json['id']}")
    assert set(_rows(session, tenant).values()) == {1}
    api.delete(f"reconciliation/matches/{accepted.json['match_id']}")
    assert _rows(session, tenant) == {}
