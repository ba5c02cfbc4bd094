"""The reconcile run: what it loads, what it writes, and that a rerun writes nothing."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from sqlalchemy import select, text

from payymo.api.invoices.schemas import InvoiceOut
from payymo.api.reconciliation.schemas import MatchOut, SuggestionOut
from payymo.models import Event, Invoice, Job, Match, MatchBlock, Suggestion, Tenant, Transaction
from payymo.services import invoices as invoice_service
from payymo.services import suggestions as suggestion_service
from payymo.services.reconciliation import incremental, lookup_tables, write
from payymo.tenancy import tenant_scope
from tests.reconcile_world import account, add, count, credit_row, invoice_row, run
from tests.reconciliation_helpers import Seed


@dataclass
class World:
    """Four open invoices and three credits: one clear, one ambiguous, one unrelated."""

    tenant_id: str
    account_id: str
    clear_invoice: str
    twin_b: str
    twin_c: str
    other_invoice: str
    clear: str
    ambiguous: str
    unrelated: str


@pytest.fixture
def world(session, tenant) -> World:
    tid = tenant.tenant_id
    acc = account(session, tid)
    invoices = add(
        session,
        tid,
        invoice_row("INV-1001", 12_300, "Initech BV"),
        invoice_row("INV-2001", 5_000, "Globex Corporation"),
        invoice_row("INV-3001", 5_000, "Umbrella plc"),
        invoice_row("INV-4001", 9_900, "Hooli Inc"),
    )
    credits = add(
        session,
        tid,
        credit_row(acc, 12_300, "Payment INV-1001 thank you", "INITECH B.V."),
        credit_row(acc, 5_000, "monthly payment", "J. Smith"),
        credit_row(acc, 777, "Interest Q3", "Our Bank"),
    )
    return World(tid, acc, *invoices, *credits)


def txn(session, tenant_id: str, txn_id: str) -> Transaction:
    session.expire_all()
    with tenant_scope(tenant_id):
        return session.get_one(Transaction, txn_id)


def open_suggestions(session, tenant_id: str, txn_id: str) -> list[Suggestion]:
    session.expire_all()
    with tenant_scope(tenant_id):
        stmt = select(Suggestion).where(
            Suggestion.transaction_id == txn_id, Suggestion.status == "open"
        )
        return list(session.scalars(stmt.order_by(Suggestion.rank)))


def snapshot(session, tenant_id: str) -> dict:
    """Every row a run writes, as comparable values."""
    session.expire_all()
    with tenant_scope(tenant_id):
        return {
            "events": sorted(session.scalars(select(Event.id))),
            "matches": sorted(session.scalars(select(Match.id))),
            "suggestions": sorted(
                (s.id, s.status, s.rank, s.confidence, str(s.reasons))
                for s in session.scalars(select(Suggestion))
            ),
            "transactions": sorted(
                (t.id, t.match_status, t.amount_allocated, t.updated_at)
                for t in session.scalars(select(Transaction))
            ),
            "invoices": sorted(
                (i.id, i.status, i.amount_paid, i.updated_at)
                for i in session.scalars(select(Invoice))
            ),
        }


def test_run_matches_the_clear_case_suggests_the_ambiguous_and_leaves_the_rest(session, world):
    counts = run(session, world.tenant_id)
    assert counts == {
        "mode": "incremental",
        "passes": 1,
        "transactions_considered": 3,
        # Hooli's invoice: no credit names it, owes its amount or is paid by its customer.
        "invoices_considered": 3,
        "auto_matched": 1,
        "suggested": 1,
        "skipped_conflicts": 0,
        "unmatched": 1,
        "payouts_matched": 0,
    }
    clear = txn(session, world.tenant_id, world.clear)
    assert (clear.match_status, clear.amount_allocated) == ("matched", 12_300)
    with tenant_scope(world.tenant_id):
        [match] = session.scalars(select(Match)).all()
        paid = session.get_one(Invoice, world.clear_invoice)
        assert (match.method, match.created_by, match.transaction_id) == (
            "auto",
            "engine",
            world.clear,
        )
        assert [(a.invoice_id, a.amount) for a in match.allocations] == [
            (world.clear_invoice, 12_300)
        ]
        assert match.confidence >= 0.9
        assert "reference_exact" in {r["code"] for r in match.reasons}
        assert (paid.status, paid.amount_paid) == ("paid", 12_300)
        match_id = match.id
    suggestions = open_suggestions(session, world.tenant_id, world.ambiguous)
    assert {s.invoice_ids[0] for s in suggestions} == {world.twin_b, world.twin_c}
    assert [s.rank for s in suggestions] == [1, 2]
    assert all(s.allocations[0]["amount"] == 5_000 and s.reasons for s in suggestions)
    suggestion_ids = [s.id for s in suggestions]
    assert txn(session, world.tenant_id, world.ambiguous).match_status == "suggested"
    unrelated = txn(session, world.tenant_id, world.unrelated)
    assert (unrelated.match_status, unrelated.amount_allocated) == ("unmatched", 0)
    assert open_suggestions(session, world.tenant_id, world.unrelated) == []
    with tenant_scope(world.tenant_id):
        by_type = {}
        for event in session.scalars(select(Event).order_by(Event.id)):
            by_type.setdefault(event.type, []).append(event.data["object"])
    [matched] = by_type["transaction.matched"]
    assert (matched["id"], matched["method"], matched["status"]) == (match_id, "auto", "active")
    assert matched["allocations"] == [
        {
            "invoice_id": world.clear_invoice,
            "invoice_number": "INV-1001",
            "customer_name": "Initech BV",
            "amount": 12_300,
            "amount_display": "123.00",
            "invoice_amount_remaining": 0,
            "invoice_amount_remaining_display": "0.00",
            "charge": 0,
            "charge_display": "0.00",
        }
    ]
    [invoice_paid] = by_type["invoice.paid"]
    assert (invoice_paid["id"], invoice_paid["amount_paid"]) == (world.clear_invoice, 12_300)
    assert sorted(s["id"] for s in by_type["suggestion.created"]) == sorted(suggestion_ids)
    assert {s["status"] for s in by_type["suggestion.created"]} == {"open"}


# 0: every insert through the staging table (COPY, then INSERT … SELECT), as a run of
# more than ``SMALL_INSERT`` rows per table takes; the default: one multi-row INSERT.
@pytest.mark.parametrize("small_insert", [0, write.SMALL_INSERT], ids=["staged", "plain"])
def test_event_payloads_are_the_api_schemas_dumps_of_the_rows_written(
    session, world, monkeypatch, small_insert
):
    monkeypatch.setattr(write, "SMALL_INSERT", small_insert)
    run(session, world.tenant_id)
    session.expire_all()
    with tenant_scope(world.tenant_id):
        data = {e.type: e.data for e in session.scalars(select(Event).order_by(Event.id))}
        [match] = session.scalars(select(Match)).all()
        paid = session.get_one(Invoice, world.clear_invoice)
        suggestion = session.scalars(select(Suggestion).order_by(Suggestion.id.desc())).first()
        assert data["transaction.matched"]["object"] == MatchOut().dump(match)
        assert data["invoice.paid"] == {
            "object": InvoiceOut().dump(paid),
            "previous_attributes": {"amount_paid": 0, "amount_paid_display": "0.00"},
        }
        suggestion_service.show(session, [suggestion])
        assert data["suggestion.created"]["object"] == SuggestionOut().dump(suggestion)
        assert data["suggestion.created"]["object"]["currency"] == "EUR"


def test_a_suggestion_event_shows_its_invoice_as_the_runs_automatic_matches_leave_it(
    session, tenant
):
    tid = tenant.tenant_id
    acc = account(session, tid)
    [invoice] = add(session, tid, invoice_row("INV-5001", 10_000, "Acme GmbH"))
    paid_part, rest = add(
        session,
        tid,
        credit_row(acc, 6_000, "Payment INV-5001", "ACME GMBH"),
        credit_row(acc, 4_000, "the rest", "Acme GmbH"),
    )
    run(session, tid)
    session.expire_all()
    with tenant_scope(tid):
        events = {e.type: e.data["object"] for e in session.scalars(select(Event))}
        assert events["transaction.matched"]["transaction_id"] == paid_part
        suggested = events["suggestion.created"]
        assert suggested["transaction_id"] == rest
        [line] = suggested["allocations"]
        assert (line["invoice_id"], line["amount"]) == (invoice, 4_000)
        assert (line["invoice_number"], line["customer_name"]) == ("INV-5001", "Acme GmbH")
        # What the invoice owes once the run's automatic match is written, as stored.
        assert session.get_one(Invoice, invoice).amount_remaining == 4_000
        assert line["invoice_amount_remaining"] == 4_000
        assert line["invoice_amount_remaining_display"] == "40.00"


def test_second_run_changes_nothing(session, world):
    run(session, world.tenant_id)
    before = snapshot(session, world.tenant_id)
    counts = run(session, world.tenant_id)
    assert snapshot(session, world.tenant_id) == before
    # Incremental, and what the first run wrote is its own: nothing to decide again. On
    # SQLite its writes are anyone's: the credit it moved to "suggested" comes again (the
    # matched one is closed, and nothing reaching the interest credit changed).
    again = 0 if session.get_bind().dialect.name == "postgresql" else 1
    assert (counts["mode"], counts["transactions_considered"]) == ("incremental", again)
    assert (counts["auto_matched"], counts["suggested"], counts["unmatched"]) == (0, again, 0)
    counts = run(session, world.tenant_id, full=True)
    assert snapshot(session, world.tenant_id) == before
    assert (counts["mode"], counts["transactions_considered"]) == ("full", 2)
    assert (counts["auto_matched"], counts["suggested"], counts["unmatched"]) == (0, 1, 1)


def test_blocked_pairs_are_never_matched_or_suggested(session, world):
    add(
        session,
        world.tenant_id,
        MatchBlock(transaction_id=world.clear, invoice_id=world.clear_invoice, reason="reversed"),
        MatchBlock(transaction_id=world.ambiguous, invoice_id=world.twin_b, reason="rejected"),
    )
    counts = run(session, world.tenant_id)
    assert counts["auto_matched"] == 0
    assert count(session, world.tenant_id, Match) == 0
    for suggestion in open_suggestions(session, world.tenant_id, world.clear):
        assert world.clear_invoice not in suggestion.invoice_ids
    suggested = open_suggestions(session, world.tenant_id, world.ambiguous)
    assert [s.invoice_ids for s in suggested] == [[world.twin_c]]


def test_suggestions_follow_a_voided_invoice_and_keep_unchanged_rows(session, world):
    run(session, world.tenant_id)
    kept = {
        s.invoice_ids[0]: s.id for s in open_suggestions(session, world.tenant_id, world.ambiguous)
    }
    with tenant_scope(world.tenant_id):
        invoice_service.void_invoice(session=session, invoice_id=world.twin_c)
        session.commit()
    run(session, world.tenant_id)
    [left] = open_suggestions(session, world.tenant_id, world.ambiguous)
    assert (left.id, left.rank) == (kept[world.twin_b], 1)
    with tenant_scope(world.tenant_id):
        gone = session.get_one(Suggestion, kept[world.twin_c])
        assert (gone.status, gone.decided_by) == ("expired", "engine")
    assert count(session, world.tenant_id, Event, type="suggestion.created") == 2


def test_a_credit_losing_its_candidates_goes_back_to_unmatched(session, world):
    run(session, world.tenant_id)
    with tenant_scope(world.tenant_id):
        for invoice_id in (world.twin_b, world.twin_c):
            invoice_service.void_invoice(session=session, invoice_id=invoice_id)
        session.commit()
    counts = run(session, world.tenant_id)
    assert counts["unmatched"] == 1  # the interest credit is not looked at again
    assert txn(session, world.tenant_id, world.ambiguous).match_status == "unmatched"
    assert open_suggestions(session, world.tenant_id, world.ambiguous) == []


def test_pending_credits_only_get_suggestions(session, tenant):
    tid = tenant.tenant_id
    acc = account(session, tid)
    [invoice_id] = add(session, tid, invoice_row("INV-7001", 4_200, "Initech BV"))
    [pending] = add(
        session, tid, credit_row(acc, 4_200, "INV-7001", "Initech BV", status="pending")
    )
    counts = run(session, tid)
    assert (counts["auto_matched"], counts["suggested"]) == (0, 1)
    [suggestion] = open_suggestions(session, tid, pending)
    assert suggestion.invoice_ids == [invoice_id]
    assert suggestion.confidence >= 0.9
    assert count(session, tid, Match) == 0


def test_auto_match_off_in_tenant_settings_only_suggests(session, world):
    with tenant_scope(world.tenant_id):
        tenant = session.get_one(Tenant, world.tenant_id)
        tenant.settings = {**tenant.effective_settings, "auto_match_enabled": False}
        session.commit()
    counts = run(session, world.tenant_id)
    assert (counts["auto_matched"], counts["suggested"]) == (0, 2)
    assert txn(session, world.tenant_id, world.clear).match_status == "suggested"


def test_debits_ignored_and_other_currencies_are_left_alone(session, tenant):
    tid = tenant.tenant_id
    acc = account(session, tid)
    add(session, tid, invoice_row("INV-8001", 3_000, "Initech BV"))
    add(
        session,
        tid,
        credit_row(acc, -3_000, "INV-8001", "Initech BV"),
        credit_row(acc, 3_000, "INV-8001", "Initech BV", match_status="ignored"),
        credit_row(acc, 3_000, "INV-8001", "Initech BV", currency="USD"),
    )
    counts = run(session, tid)
    assert counts["transactions_considered"] == 1  # only the USD credit is open
    assert (counts["auto_matched"], counts["suggested"]) == (0, 0)
    assert count(session, tid, Match) == 0
    assert count(session, tid, Transaction, match_status="ignored") == 1


def test_small_chunks_give_the_same_result_and_record_progress(session, world, make_tenant):
    with tenant_scope(world.tenant_id):
        job = Job(type="reconcile", status="running")
        session.add(job)
        session.commit()
    counts = run(session, world.tenant_id, job_id=job.id, chunk_size=1)
    assert (counts["auto_matched"], counts["suggested"], counts["unmatched"]) == (1, 1, 1)
    assert txn(session, world.tenant_id, world.clear).match_status == "matched"
    with tenant_scope(world.tenant_id):
        assert session.get_one(Job, job.id).result == counts


def test_one_payment_for_two_invoices_pays_both(session, tenant):
    tid = tenant.tenant_id
    acc = account(session, tid)
    first, second = add(
        session,
        tid,
        invoice_row("INV-9001", 1_000, "Initech BV"),
        invoice_row("INV-9002", 2_500, "Initech BV"),
    )
    [credit] = add(session, tid, credit_row(acc, 3_500, "INV-9001 INV-9002", "Initech BV"))
    counts = run(session, tid)
    assert counts["auto_matched"] == 1
    with tenant_scope(tid):
        [match] = session.scalars(select(Match)).all()
        assert sorted((a.invoice_id, a.amount) for a in match.allocations) == sorted(
            [(first, 1_000), (second, 2_500)]
        )
        assert {session.get_one(Invoice, i).status for i in (first, second)} == {"paid"}
    assert txn(session, tid, credit).match_status == "matched"


def _multi_currency_world(session, tid: str) -> None:
    for currency in ("EUR", "GBP", "USD"):
        acc = account(session, tid, currency=currency)
        add(
            session,
            tid,
            invoice_row(f"{currency}-1001", 12_300, "Initech BV", currency=currency),
            invoice_row(f"{currency}-2001", 5_000, "Globex Corporation", currency=currency),
            invoice_row(f"{currency}-3001", 5_000, "Umbrella plc", currency=currency),
        )
        add(
            session,
            tid,
            credit_row(acc, 12_300, f"Payment {currency}-1001", "INITECH B.V.", currency=currency),
            credit_row(acc, 5_000, "monthly payment", "J. Smith", currency=currency),
            credit_row(acc, 777, "Interest Q3", "Our Bank", currency=currency),
        )


def _outcome(session, tid: str) -> list:
    session.expire_all()
    with tenant_scope(tid):
        credits = {t.id: t for t in session.scalars(select(Transaction))}
        invoices = {i.id: i.number for i in session.scalars(select(Invoice))}
        rows = [
            (t.remittance_information, t.currency, t.match_status, t.amount_allocated)
            for t in credits.values()
        ]
        for s in session.scalars(select(Suggestion).where(Suggestion.status == "open")):
            txn_row = credits[s.transaction_id]
            lines = [(invoices[a["invoice_id"]], a["amount"]) for a in s.allocations]
            rows.append((txn_row.remittance_information, txn_row.currency, s.rank, lines))
    return sorted(rows, key=repr)


def test_engine_processes_per_currency_write_what_one_engine_writes(session, make_tenant):
    spawned, single = make_tenant("Spawned Ltd"), make_tenant("Single Ltd")
    for t in (spawned, single):
        _multi_currency_world(session, t.tenant_id)
    counts = run(session, spawned.tenant_id, processes=3, parallel_min=0)
    assert counts == run(session, single.tenant_id, processes=1)
    assert (counts["auto_matched"], counts["suggested"], counts["unmatched"]) == (3, 3, 3)
    assert _outcome(session, spawned.tenant_id) == _outcome(session, single.tenant_id)
    assert len(_outcome(session, spawned.tenant_id)) == 9 + 6  # credits + two twins each


def test_a_partly_matched_credit_keeps_its_open_suggestions_until_fully_matched(session, world):
    """The run's write path expires suggestions as apply_match does: on full matches only."""
    tid = world.tenant_id
    with tenant_scope(tid):
        tenant = session.get_one(Tenant, tid)
        tenant.settings = {**tenant.effective_settings, "overpayment_tolerance": 500}
        session.commit()
    [overpaid] = add(session, tid, credit_row(world.account_id, 10_300, "INV-4001", "Hooli Inc"))
    seed = Seed(session, tid)
    kept = seed.suggestion(overpaid, [(world.twin_b, 5_000)])
    gone = seed.suggestion(world.clear, [(world.twin_b, 5_000)])
    for credit_id in (overpaid, world.clear):
        seed.update(Transaction, credit_id, match_status="suggested")
    counts = run(session, tid)
    assert counts["auto_matched"] == 2
    assert txn(session, tid, world.clear).match_status == "matched"
    assert seed.get(Suggestion, gone).status == "expired"
    credit = txn(session, tid, overpaid)  # 9,900 paid, 400 over the invoice
    assert (credit.match_status, credit.amount_allocated) == ("partially_matched", 9_900)
    assert seed.get(Suggestion, kept).status == "open"
    # The next run decides the 400 left: nothing fits it, so the stale suggestion goes.
    counts = run(session, tid)
    assert counts["unmatched"] == 1  # the overpayment's rest (not the interest credit)
    assert seed.get(Suggestion, kept).status == "expired"
    assert txn(session, tid, overpaid).match_status == "partially_matched"


@pytest.mark.postgres
def test_a_full_run_computing_past_the_idle_timeout_keeps_its_transaction(
    session, world, monkeypatch
):
    # A 10M-line tenant's keys took over a minute to compute between two statements of
    # the rebuild's transaction; here each credit's take 0.6 s against a 1 s timeout.
    real = lookup_tables.credit_keys

    def slow_keys(txn, reader):
        time.sleep(0.6)
        return real(txn, reader)

    monkeypatch.setattr(lookup_tables, "credit_keys", slow_keys)
    session.execute(text("SET LOCAL idle_in_transaction_session_timeout = '1s'"))
    counts = run(session, world.tenant_id, full=True)
    assert (counts["mode"], counts["auto_matched"], counts["suggested"]) == ("full", 1, 1)


@pytest.mark.postgres
def test_an_incremental_run_deciding_past_the_idle_timeout_keeps_its_transaction(
    session, world, monkeypatch
):
    # An incremental run's engine passes run between look-ups of one transaction: a
    # closure of a large tenant's credits can take longer than the timeout. Here the
    # engine takes 1.2 s a pass against a 1 s timeout.
    assert run(session, world.tenant_id, full=True)["auto_matched"] == 1
    [paying] = add(
        session, world.tenant_id, credit_row(world.account_id, 9_900, "INV-4001", "Hooli")
    )
    real = incremental.reconcile

    def slow_engine(*args, **kwargs):
        time.sleep(1.2)
        return real(*args, **kwargs)

    monkeypatch.setattr(incremental, "reconcile", slow_engine)
    session.execute(text("SET LOCAL idle_in_transaction_session_timeout = '1s'"))
    counts = run(session, world.tenant_id)
    assert (counts["mode"], counts["auto_matched"]) == ("incremental", 1)
    assert txn(session, world.tenant_id, paying).match_status == "matched"
