"""Bank sync writes: dedupe, pending → booked, expired pending, malformed lines, events."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from integrations.banking import BankTransaction, MalformedTransaction, TransactionPage
from payymo.db import utcnow
from payymo.ids import new_id
from payymo.models import BankAccount, Event, Job, Transaction
from payymo.services.banking import bulk
from payymo.services.banking import ingest as ingest_module
from payymo.services.banking.ingest import ingest, ingest_page
from payymo.services.banking.lines import rows_from_page
from payymo.tenancy import tenant_scope

DAY = dt.date(2026, 11, 20)


def line(amount: str, *, id=None, status="booked", day=DAY, text="INV-1042", name="Initech"):
    return BankTransaction(
        status=status,
        amount=Decimal(amount),
        currency="EUR",
        id=id,
        booking_date=day,
        counterparty_name=name,
        remittance_information=text,
        raw={"transactionAmount": {"amount": amount, "currency": "EUR"}},
    )


@pytest.fixture
def account(session, tenant) -> str:
    with tenant_scope(tenant.tenant_id):
        acc = BankAccount(id=new_id("ba"), kind="provider", name="Main", currency="EUR")
        session.add(acc)
        session.commit()
        return acc.id


def sync(session, tenant, account_id, booked=(), pending=(), malformed=()):
    with tenant_scope(tenant.tenant_id):
        page = TransactionPage(tuple(booked), tuple(pending), tuple(malformed))
        b, p, problems = rows_from_page(page, "EUR")
        result = ingest(session=session, account_id=account_id, currency="EUR", booked=b, pending=p)
        session.commit()
        return result, problems


def rows(session, tenant, account_id) -> list[Transaction]:
    with tenant_scope(tenant.tenant_id):
        session.expire_all()
        stmt = select(Transaction).where(Transaction.account_id == account_id)
        return list(session.scalars(stmt.order_by(Transaction.id)))


def count_events(session, tenant, event_type) -> int:
    with tenant_scope(tenant.tenant_id):
        return session.scalar(select(func.count()).where(Event.type == event_type))


def test_first_sync_writes_every_line_once_with_its_event_and_a_resync_writes_nothing(
    session, tenant, account
):
    coffee = line("-3.20", text="Coffee", name="Cafe")
    page = [line("120.00", id="T1"), coffee, coffee, line("-9.99", id="T2")]
    first, problems = sync(
        session, tenant, account, booked=page, pending=[line("5.00", status="pending")]
    )
    assert (first.created, first.known, problems) == (5, 0, [])
    stored = rows(session, tenant, account)
    # Two identical coffees on one day are two transactions.
    assert sorted(t.amount for t in stored) == [-999, -320, -320, 500, 12000]
    assert {t.status for t in stored if t.amount == 500} == {"pending"}
    assert count_events(session, tenant, "transaction.created") == 5

    again, _ = sync(session, tenant, account, booked=page, pending=[line("5.00", status="pending")])
    assert (again.created, again.known, again.superseded, again.expired) == (0, 5, 0, 0)
    assert len(rows(session, tenant, account)) == 5
    assert count_events(session, tenant, "transaction.created") == 5


def test_a_pending_line_booked_under_a_new_id_supersedes_it_in_place(session, tenant, account):
    sync(session, tenant, account, pending=[line("45.50", status="pending", text="INV-7")])
    (pending,) = rows(session, tenant, account)
    result, _ = sync(
        session, tenant, account, booked=[line("45.50", id="BK-9", text="INV-7 Initech")]
    )
    assert (result.created, result.superseded) == (0, 1)
    (booked,) = rows(session, tenant, account)
    assert booked.id == pending.id
    assert (booked.status, booked.provider_id, booked.remittance_information) == (
        "booked",
        "BK-9",
        "INV-7 Initech",
    )
    assert count_events(session, tenant, "transaction.updated") == 1
    # The booked line is now known by its id: a re-sync changes nothing.
    again, _ = sync(
        session, tenant, account, booked=[line("45.50", id="BK-9", text="INV-7 Initech")]
    )
    assert (again.created, again.known, again.superseded) == (0, 1, 0)


def test_a_pending_line_booked_under_the_same_id_is_promoted(session, tenant, account):
    sync(session, tenant, account, pending=[line("10.00", id="P1", status="pending")])
    result, _ = sync(session, tenant, account, booked=[line("10.00", id="P1")])
    assert result.superseded == 1
    (txn,) = rows(session, tenant, account)
    assert txn.status == "booked"


def test_a_pending_line_that_disappears_expires_and_is_kept(session, tenant, account):
    sync(session, tenant, account, pending=[line("7.00", status="pending", text="hold")])
    result, _ = sync(session, tenant, account)
    assert result.expired == 1
    (txn,) = rows(session, tenant, account)
    assert txn.status == "expired"
    # It does not come back as a duplicate, nor expire twice.
    again, _ = sync(session, tenant, account)
    assert (again.expired, len(rows(session, tenant, account))) == (0, 1)


def test_a_matched_pending_line_is_left_alone_when_it_disappears(session, tenant, account):
    sync(session, tenant, account, pending=[line("7.00", status="pending")])
    (txn,) = rows(session, tenant, account)
    with tenant_scope(tenant.tenant_id):
        session.get(Transaction, txn.id).match_status = "matched"
        session.commit()
    result, _ = sync(session, tenant, account)
    assert result.expired == 0
    assert rows(session, tenant, account)[0].status == "pending"


def test_a_pending_line_is_not_paired_with_a_booked_line_of_another_amount(
    session, tenant, account
):
    sync(session, tenant, account, pending=[line("7.00", status="pending")])
    result, _ = sync(session, tenant, account, booked=[line("7.01", id="B1")])
    assert (result.created, result.superseded, result.expired) == (1, 0, 1)


def test_malformed_lines_are_reported_and_the_rest_imported(session, tenant, account):
    bad = [
        line("12.345", id="X1"),
        BankTransaction(status="booked", amount=Decimal("5"), currency="USD", id="X2"),
        BankTransaction(status="booked", amount=Decimal("5"), currency="EURO", id="X3"),
    ]
    broken = MalformedTransaction("booked", "transactionAmount is missing", {"transactionId": "X4"})
    result, problems = sync(
        session, tenant, account, booked=[*bad, line("1.00", id="OK")], malformed=[broken]
    )
    assert result.created == 1
    reasons = {p.provider_id: p.reason for p in problems}
    assert set(reasons) == {"X1", "X2", "X3", "X4"}
    assert "more decimal places than EUR allows" in reasons["X1"]
    assert "does not match the account's EUR" in reasons["X2"]
    assert "unknown currency" in reasons["X3"]
    assert reasons["X4"] == "transactionAmount is missing"


def test_the_same_line_in_two_accounts_is_two_transactions(session, tenant, account):
    with tenant_scope(tenant.tenant_id):
        other = BankAccount(id=new_id("ba"), kind="provider", name="Savings", currency="EUR")
        session.add(other)
        session.commit()
        other_id = other.id
    sync(session, tenant, account, booked=[line("3.00", id="SAME")])
    result, _ = sync(session, tenant, other_id, booked=[line("3.00", id="SAME")])
    assert result.created == 1


def test_new_credits_report_themselves_for_reconciliation(session, tenant, account):
    result, _ = sync(
        session, tenant, account, booked=[line("50.00", id="C1"), line("-2.00", id="D1")]
    )
    assert result.credits_created == 1
    with tenant_scope(tenant.tenant_id):
        assert session.scalar(select(func.count()).select_from(Job)) == 0  # sync asks, not ingest


def test_a_booked_line_whose_pending_twin_expired_earlier_revives_it(session, tenant, account):
    sync(session, tenant, account, pending=[line("10.00", id="P7", status="pending")])
    assert sync(session, tenant, account)[0].expired == 1  # the bank hid it for a while
    result, _ = sync(session, tenant, account, booked=[line("10.00", id="P7")])
    assert (result.created, result.superseded, result.known) == (0, 1, 0)
    (txn,) = rows(session, tenant, account)
    assert (txn.status, txn.provider_id) == ("booked", "P7")
    again, _ = sync(session, tenant, account, booked=[line("10.00", id="P7")])
    assert (again.known, again.superseded) == (1, 0)


def test_lines_are_written_in_batches_each_with_its_events(session, tenant, account, monkeypatch):
    monkeypatch.setattr(ingest_module, "_BATCH", 2)
    page = [line(f"{n}.00", id=f"B{n}") for n in range(1, 6)]
    first, _ = sync(session, tenant, account, booked=page)
    assert (first.created, first.known) == (5, 0)
    stored = rows(session, tenant, account)
    assert sorted(t.provider_id for t in stored) == ["B1", "B2", "B3", "B4", "B5"]
    with tenant_scope(tenant.tenant_id):
        created = session.scalars(
            select(Event).where(Event.type == "transaction.created").order_by(Event.id)
        ).all()
    assert [e.data["object"]["id"] for e in created] == sorted(first.created_ids)
    assert {e.data["object"]["id"] for e in created} == {t.id for t in stored}
    again, _ = sync(session, tenant, account, booked=page)
    assert (again.created, again.known, count_events(session, tenant, "transaction.created")) == (
        0,
        5,
        5,
    )


def test_a_bulk_insert_answers_only_the_rows_it_wrote_and_works_meanwhile(session, tenant, account):
    sync(session, tenant, account, booked=[line("1.00", id="K1")])
    now = utcnow()

    def record(key: str) -> dict:
        return {
            "id": new_id("txn"), "tenant_id": tenant.tenant_id, "account_id": account,
            "dedupe_key": key, "status": "booked", "amount": 100, "amount_allocated": 0,
            "currency": "EUR", "match_status": "unmatched", "created_at": now,
            "updated_at": now,
        }  # fmt: skip

    fresh, taken = record("id:K2"), record("id:K1")  # K1's key is already stored
    calls = []
    with tenant_scope(tenant.tenant_id):
        inserted = bulk.insert_ignoring_conflicts(
            session,
            Transaction.__table__,
            [fresh, taken],
            conflict=("account_id", "dedupe_key"),
            meanwhile=lambda: calls.append("work"),
        )
        session.commit()
    assert inserted == {fresh["id"]}
    assert calls == ["work"]
    assert sorted(t.provider_id or t.dedupe_key for t in rows(session, tenant, account)) == [
        "K1",
        "id:K2",
    ]


def test_a_page_counts_settled_lines_as_known_without_reading_them_again(session, tenant, account):
    first = [line("12.00", id="S1", day=DAY), line("13.00", id=" S2 ", day=DAY)]
    sync(session, tenant, account, booked=first)
    later = DAY + dt.timedelta(days=3)
    # The bank resends S1 and S2 (S2 now with a garbled amount) beside one new line.
    page = TransactionPage(
        (line("12.00", id="S1", day=later), line("13.001", id="S2", day=DAY), line("1.00")),
        (),
        (),
    )
    with tenant_scope(tenant.tenant_id):
        result, problems = ingest_page(
            session=session, account_id=account, currency="EUR", page=page
        )
        session.commit()
    assert (result.created, result.known, problems) == (1, 2, [])
    assert result.latest_booking_date == later  # known lines still move the window on
    assert len(rows(session, tenant, account)) == 3
