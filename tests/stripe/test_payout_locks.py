"""Two writers racing for one payout, or for one bank credit: exactly one wins.

One real PostgreSQL session matches and holds its locks; the competing match runs in a
thread, is seen waiting on the lock, and after the first commits it must re-read what it
locked and refuse, leaving the books balanced.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker

from payymo import db
from payymo.errors import Conflict
from payymo.ids import new_id
from payymo.models import StripePayout, Tenant
from payymo.services import allocations
from payymo.services import tenants as tenant_service
from payymo.tenancy import tenant_scope
from tests.books import assert_books_balance
from tests.concurrency import Blocked
from tests.reconcile_world import DAY, account, add, credit_row

pytestmark = pytest.mark.postgres


def _payout(amount: int) -> StripePayout:
    return StripePayout(
        id=new_id("spo"),
        stripe_id=f"po_{new_id('x')[-12:]}",
        status="paid",
        amount=amount,
        currency="EUR",
        arrival_date=DAY,
        automatic=True,
        stripe_created=dt.datetime.now(dt.UTC),
    )


@pytest.fixture
def world(app):
    """A committed tenant: two STRIPE credits of 5000 and two paid payouts of 5000."""
    factory = sessionmaker(bind=db.engine(), expire_on_commit=False)
    with factory() as session:
        tenant = tenant_service.create_tenant(session=session, name="Race Ltd")
        session.commit()
        account_id = account(session, tenant.id)
        credits = add(
            session,
            tenant.id,
            credit_row(account_id, 5000, "STRIPE", "STRIPE"),
            credit_row(account_id, 5000, "STRIPE", "STRIPE"),
        )
        payouts = add(session, tenant.id, _payout(5000), _payout(5000))
    try:
        yield {"factory": factory, "tenant_id": tenant.id, "credits": credits, "payouts": payouts}
    finally:
        with factory() as session:
            session.execute(delete(Tenant).where(Tenant.id == tenant.id))
            session.commit()


def _match(world, payout_id: str, txn_id: str):
    with world["factory"]() as session, tenant_scope(world["tenant_id"]):
        match = allocations.apply_payout_match(
            session=session,
            payout_id=payout_id,
            transaction_id=txn_id,
            method="manual",
            created_by="second",
        )
        session.commit()
        return match.id


def _race(world, first: tuple[str, str], second: tuple[str, str]) -> Blocked:
    """Hold ``first`` (payout, credit) matched but uncommitted while ``second`` waits."""
    with world["factory"]() as session, tenant_scope(world["tenant_id"]):
        allocations.apply_payout_match(
            session=session,
            payout_id=first[0],
            transaction_id=first[1],
            method="manual",
            created_by="first",
        )
        call = Blocked.start(db.engine(), lambda: _match(world, *second))
        session.commit()
    return call


def test_one_payout_is_never_matched_to_two_credits(world):
    payout = world["payouts"][0]
    first, second = world["credits"]
    call = _race(world, (payout, first), (payout, second))
    with pytest.raises(Conflict) as refused:
        call.result()
    assert refused.value.code == "payout_matched"
    with world["factory"]() as session:
        assert_books_balance(session, world["tenant_id"])


def test_one_credit_is_never_matched_to_two_payouts(world):
    credit = world["credits"][0]
    first, second = world["payouts"]
    call = _race(world, (first, credit), (second, credit))
    with pytest.raises(Conflict) as refused:
        call.result()
    assert refused.value.code == "transaction_matched"
    with world["factory"]() as session:
        assert_books_balance(session, world["tenant_id"])
