"""The change log incremental runs work from, and what a run does with it.

Triggers record every change that can alter a decision (whatever wrote it: here the
ORM and Core statements), skip those that cannot; a run turns the changes into the
credits they reach, and a run that dies after that leaves exactly those for the next.
"""

from __future__ import annotations

from sqlalchemy import event, select, update

from payymo import db
from payymo.ids import new_id
from payymo.models import (
    BankAccount,
    Invoice,
    MatchBlock,
    PayerMemory,
    ReconcileChange,
    Tenant,
    Transaction,
)
from payymo.services.reconciliation import changes as change_log
from payymo.services.reconciliation import incremental
from payymo.services.reconciliation.incremental import MIN_FULL, affected_credits
from payymo.services.reconciliation.load import match_settings
from payymo.services.reconciliation.run import _prepare
from payymo.tenancy import tenant_scope
from tasks.reconcile import reconcile_tenant
from tests.helpers import ApiClient
from tests.reconcile_world import account, add, credit_row, invoice_row, run


def _log(session, tenant_id: str) -> list[tuple[str, str | None]]:
    with tenant_scope(tenant_id):
        rows = session.execute(
            select(ReconcileChange.kind, ReconcileChange.object_id).order_by(ReconcileChange.id)
        )
        return [tuple(row) for row in rows]


def _clear(session, tenant_id: str) -> None:
    with tenant_scope(tenant_id):
        change_log.done(session, change_log.take(session))
        session.commit()


def test_writes_that_can_change_a_decision_are_logged_and_others_are_not(session, tenant):
    tid = tenant.tenant_id
    acc = account(session, tid)
    [invoice] = add(session, tid, invoice_row("INV-1001", 12_300, "Initech BV"))
    credit, _debit = add(
        session,
        tid,
        credit_row(acc, 12_300, "INV-1001", "Initech BV"),
        credit_row(acc, -4_500, "Office supplies", "Paper Co"),
    )
    assert _log(session, tid) == [("invoice", invoice), ("transaction", credit)]  # no debit
    _clear(session, tid)

    with tenant_scope(tid):
        stamp = select(Transaction.updated_at).where(Transaction.id == credit).scalar_subquery()
        session.execute(update(Transaction).values(notes="seen", updated_at=stamp))
        session.execute(update(Invoice).values(metadata_={"crm": "x"}))
        session.commit()
    assert _log(session, tid) == []  # notes, metadata and timestamps decide nothing

    with tenant_scope(tid):
        session.execute(update(Transaction).where(Transaction.id == credit).values(
            counterparty_name="INITECH B.V."
        ))  # fmt: skip
        session.execute(update(Invoice).values(amount_paid=100))
        session.add(MatchBlock(transaction_id=credit, invoice_id=invoice, reason="rejected"))
        session.add(
            PayerMemory(kind="iban", value="DE89370400440532013000", customer_key="name:initech")
        )
        session.commit()
    assert _log(session, tid) == [
        ("transaction", credit),
        ("invoice", invoice),
        ("transaction", credit),
        ("payer", "iban:DE89370400440532013000"),
    ]
    _clear(session, tid)

    with tenant_scope(tid):
        tenant_row = session.get_one(Tenant, tid)
        tenant_row.settings = {**tenant_row.effective_settings, "overpayment_tolerance": 50}
        session.commit()
    assert _log(session, tid) == [("full", None)]


def test_a_run_that_dies_after_taking_its_changes_leaves_its_credits_for_the_next(session, tenant):
    tid = tenant.tenant_id
    acc = account(session, tid)
    run(session, tid)
    [invoice] = add(session, tid, invoice_row("INV-2002", 5_000, "Globex Corp"))
    # A credit that reaches the new invoice only by its amount, logged before it came.
    [old] = add(session, tid, credit_row(acc, 5_000, "monthly", "J. Smith"))
    run(session, tid)
    assert _status(session, tid, old) == "suggested"
    _clear(session, tid)
    with tenant_scope(tid):
        session.execute(update(Invoice).where(Invoice.id == invoice).values(amount_due=6_000))
        session.commit()
    assert _log(session, tid) == [("invoice", invoice)]

    with tenant_scope(tid):
        settings = match_settings(session)
        taken = change_log.take(session)
        reached, _groups = affected_credits(session, changes=taken, settings=settings)
        change_log.replace(session, taken, reached)
        session.commit()  # ... and the run dies here, before it decides anything
    # The invoice change became the credit it reaches; the look-up tables know the rest.
    assert reached == {old}
    assert _log(session, tid) == [("transaction", old)]
    counts = run(session, tid)
    assert (counts["mode"], counts["transactions_considered"]) == ("incremental", 1)
    assert _status(session, tid, old) == "unmatched"  # 5,000 no longer fits 6,000
    # Its own status change leaves the credit's look-up rows as they were: on PostgreSQL
    # the run does not log it; on SQLite every write is anyone's change.
    postgres = session.get_bind().dialect.name == "postgresql"
    assert _log(session, tid) == ([] if postgres else [("transaction", old)])


def _own(session, kind: str) -> str:
    """How a run's own write of ``kind`` is logged (as its own on PostgreSQL only)."""
    if session.get_bind().dialect.name != "postgresql":
        return kind
    return change_log.DECIDED[kind]


def test_credits_reaching_an_invoice_named_by_reference_are_read_before_the_first_pass(
    session, tenant
):
    """A new credit pays an invoice by reference; an older one owes its amount. The run
    reads the older one before deciding, not after a pass whose match consumed it."""
    tid = tenant.tenant_id
    acc = account(session, tid)
    add(session, tid, invoice_row("INV-5001", 5_000, "Initech BV"))
    [older] = add(session, tid, credit_row(acc, 5_000, "monthly", "J. Smith"))
    run(session, tid, full=True)
    assert _status(session, tid, older) == "suggested"  # its amount, nothing else
    [paying] = add(session, tid, credit_row(acc, 5_000, "Payment INV-5001", "Initech BV"))
    counts = run(session, tid)
    assert (counts["mode"], counts["passes"], counts["transactions_considered"]) == (
        "incremental",
        1,
        2,
    )
    assert (_status(session, tid, paying), _status(session, tid, older)) == (
        "matched",
        "unmatched",
    )
    run(session, tid, full=True)  # and a full run decides the same
    assert (_status(session, tid, paying), _status(session, tid, older)) == (
        "matched",
        "unmatched",
    )


def test_a_runs_own_writes_reach_no_credit_again(session, tenant):
    """The run that matched decided every credit its match reached: the next decides
    none of them again, and decides as a full run would."""
    tid = tenant.tenant_id
    acc = account(session, tid)
    run(session, tid)
    [invoice] = add(session, tid, invoice_row("INV-5001", 5_000, "Initech BV"))
    [paying, other] = add(
        session,
        tid,
        credit_row(acc, 5_000, "Payment INV-5001", "Initech BV"),
        credit_row(acc, 5_000, "monthly", "J. Smith"),  # reaches it by its amount
    )
    counts = run(session, tid)
    assert (counts["transactions_considered"], counts["auto_matched"]) == (2, 1)
    assert _status(session, tid, paying) == "matched"
    assert _status(session, tid, other) == "unmatched"  # the invoice is paid
    assert sorted(_log(session, tid)) == sorted(
        [(_own(session, "transaction"), paying), (_own(session, "invoice"), invoice)]
    )
    again = run(session, tid)
    postgres = session.get_bind().dialect.name == "postgresql"
    # On SQLite the run's writes are anyone's changes: the unmatched credit comes again.
    assert again["transactions_considered"] == (0 if postgres else 1)
    assert _log(session, tid) == []
    run(session, tid, full=True)
    assert (_status(session, tid, paying), _status(session, tid, other)) == (
        "matched",
        "unmatched",
    )


def test_a_row_someone_else_changed_too_is_theirs(session, tenant):
    tid = tenant.tenant_id
    with tenant_scope(tid):
        session.add_all(
            ReconcileChange(kind=kind, object_id=object_id)
            for kind, object_id in [
                ("decided_inv", "inv_1"),
                ("invoice", "inv_1"),
                ("decided_inv", "inv_2"),
                ("decided_txn", "txn_1"),
                ("transaction", "txn_2"),
            ]
        )
        session.commit()
        taken = change_log.take(session)
    assert (taken.invoices, taken.decided_invoices) == ({"inv_1"}, {"inv_2"})
    assert (taken.transactions, taken.decided_transactions) == ({"txn_2"}, {"txn_1"})


def _status(session, tenant_id: str, txn_id: str) -> str:
    session.expire_all()
    with tenant_scope(tenant_id):
        return session.get_one(Transaction, txn_id).match_status


def test_asking_for_a_full_run_makes_the_next_run_full(app, session, tenant):
    api = ApiClient(app.test_client(), tenant.secret)
    refused = api.post("reconciliation/run", json={"full": "yes please"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["param"] == "full"
    job = api.post("reconciliation/run", json={"full": True})
    assert job.status_code == 202
    reconcile_tenant(tenant.tenant_id, job.get_json()["id"])  # a worker's (done if inline)
    assert api.get(f"jobs/{job.get_json()['id']}").get_json()["result"]["mode"] == "full"
    assert run(session, tenant.tenant_id)["mode"] == "incremental"


def test_a_credit_is_decided_again_when_a_customer_it_reaches_gets_a_new_invoice(session, tenant):
    """Nothing links the new invoice to the credit but its customer: the credit names
    another of that customer's invoices, and the engine looks at the customer's pool."""
    tid = tenant.tenant_id
    acc = account(session, tid)
    [named] = add(session, tid, invoice_row("INV-4001", 5_000, "Initech BV"))
    [credit] = add(session, tid, credit_row(acc, 7_500, "Payment INV-4001", "Stranger Things Inc"))
    run(session, tid)
    run(session, tid)  # settles what the first run wrote (the credit's new status)
    assert _log(session, tid) == []
    before = _suggested(session, tid, credit)
    assert [named] in before and sorted([named]) == sorted(before[0])
    [second] = add(session, tid, invoice_row("INV-0777", 2_500, "Initech BV"))
    counts = run(session, tid)
    assert counts["mode"] == "incremental" and counts["transactions_considered"] == 1
    after = _suggested(session, tid, credit)
    assert sorted([named, second]) in [sorted(ids) for ids in after]  # 5,000 + 2,500
    run(session, tid, full=True)
    assert _suggested(session, tid, credit) == after  # what a full run decides, too


def _suggested(session, tenant_id: str, txn_id: str) -> list[list[str]]:
    from payymo.models import Suggestion

    session.expire_all()
    with tenant_scope(tenant_id):
        rows = session.scalars(
            select(Suggestion)
            .where(Suggestion.transaction_id == txn_id, Suggestion.status == "open")
            .order_by(Suggestion.rank)
        )
        return [list(s.invoice_ids) for s in rows]


def test_a_credit_whose_suggestion_a_later_match_paid_is_decided_again(session, tenant):
    """In one pass a credit is decided before a later one pays an invoice it would
    suggest: that suggestion is never written, and the next run decides the credit
    again, when the engine may name another invoice in its place (as a full run does)."""
    tid = tenant.tenant_id
    acc = account(session, tid)
    run(session, tid)
    invoices = add(
        session,
        tid,
        *(
            invoice_row(f"INV-71{n:02d}", amount, "Initech BV")
            for n, amount in enumerate([5_000, 7_100, 8_200, 9_300, 10_400, 11_500])
        ),
    )
    [credit] = add(session, tid, credit_row(acc, 5_000, "thanks", "Initech BV"))
    run(session, tid)
    named = [ids[0] for ids in _suggested(session, tid, credit)]
    paid = named[-1]  # the last invoice it suggests, paid next by reference
    number = f"INV-71{invoices.index(paid):02d}"
    amount = [5_000, 7_100, 8_200, 9_300, 10_400, 11_500][invoices.index(paid)]
    # A payment of that invoice, and the credit decided again in the same pass (its
    # customer's invoices change): the credit comes first.
    add(session, tid, credit_row(acc, amount, f"Payment {number}", "ACCOUNTS DEPT"))
    with tenant_scope(tid):
        change_log.decide_again(session, [credit])
        session.commit()
    run(session, tid)
    after_first = [ids[0] for ids in _suggested(session, tid, credit)]
    assert paid not in after_first and len(after_first) == len(named) - 1
    assert ("transaction", credit) in _log(session, tid)  # to be decided again
    again = run(session, tid)
    assert again["transactions_considered"] >= 1
    incremental = _suggested(session, tid, credit)
    assert len(incremental) == len(named)  # another invoice in the paid one's place
    run(session, tid, full=True)
    assert _suggested(session, tid, credit) == incremental


def test_a_full_runs_own_writes_reach_no_credit_again(session, tenant):
    """A full run decided every open credit: what its matches change is its own, and
    the next run decides nothing (on PostgreSQL; on SQLite its writes are anyone's)."""
    tid = tenant.tenant_id
    acc = account(session, tid)
    [invoice] = add(session, tid, invoice_row("INV-5101", 5_000, "Initech BV"))
    [paying, other] = add(
        session,
        tid,
        credit_row(acc, 5_000, "Payment INV-5101", "Initech BV"),
        credit_row(acc, 5_000, "monthly", "J. Smith"),  # reaches it by its amount, later
    )
    counts = run(session, tid, full=True)
    assert (counts["mode"], counts["auto_matched"]) == ("full", 1)
    assert _status(session, tid, other) == "unmatched"
    assert sorted(_log(session, tid)) == sorted(
        [(_own(session, "transaction"), paying), (_own(session, "invoice"), invoice)]
    )
    again = run(session, tid)
    postgres = session.get_bind().dialect.name == "postgresql"
    assert (again["mode"], again["transactions_considered"]) == (
        "incremental",
        0 if postgres else 1,
    )


def test_a_credit_a_full_run_decided_too_early_is_decided_again(session, tenant):
    """A full run decides oldest first: a credit decided before a later one pays an
    invoice it suggests loses that suggestion, and the next run decides it again."""
    tid = tenant.tenant_id
    acc = account(session, tid)
    amounts = [5_000, 7_100, 8_200, 9_300, 10_400, 11_500]
    invoices = add(
        session,
        tid,
        *(invoice_row(f"INV-72{n:02d}", amount, "Initech BV") for n, amount in enumerate(amounts)),
    )
    [credit] = add(session, tid, credit_row(acc, 5_000, "thanks", "Initech BV"))
    run(session, tid, full=True)
    named = [ids[0] for ids in _suggested(session, tid, credit)]
    paid = named[-1]
    number = f"INV-72{invoices.index(paid):02d}"
    [paying] = add(
        session,
        tid,
        credit_row(acc, amounts[invoices.index(paid)], f"Payment {number}", "ACCOUNTS DEPT"),
    )
    counts = run(session, tid, full=True)
    assert (counts["mode"], counts["auto_matched"]) == ("full", 1)
    after_full = [ids[0] for ids in _suggested(session, tid, credit)]
    assert paid not in after_full and len(after_full) == len(named) - 1
    assert ("transaction", credit) in _log(session, tid)  # to be decided again
    if session.get_bind().dialect.name == "postgresql":  # on SQLite every write is anyone's
        assert ("transaction", paying) not in _log(session, tid)
    again = run(session, tid)
    assert again["mode"] == "incremental" and again["transactions_considered"] >= 1
    incremental = _suggested(session, tid, credit)
    assert len(incremental) == len(named)  # another invoice in the paid one's place
    run(session, tid, full=True)
    assert _suggested(session, tid, credit) == incremental


def test_a_full_run_that_dies_before_it_is_done_leaves_a_full_run(session, tenant):
    """Its writes are logged as its own before it has named what to decide again: until
    it is done, a ``full`` change stands for it."""
    tid = tenant.tenant_id
    acc = account(session, tid)
    add(session, tid, credit_row(acc, 5_000, "monthly", "J. Smith"))
    run(session, tid)
    _clear(session, tid)
    with tenant_scope(tid):
        _data, pending, _reach = _prepare(session, full=True)
        session.commit()  # ... and the run dies here, before it writes
    assert _log(session, tid) == [("full", None)]
    assert pending.ids == [change_id for change_id in _ids(session, tid)]
    assert run(session, tid)["mode"] == "full"
    assert _log(session, tid) == []


def _ids(session, tenant_id: str) -> list[int]:
    with tenant_scope(tenant_id):
        return list(session.scalars(select(ReconcileChange.id).order_by(ReconcileChange.id)))


def test_a_bulk_load_makes_the_next_run_full_without_tracing_it(session, tenant):
    """Changes that are themselves a large share of the open credits (incremental.
    bulk_change) go straight to a full run: no look-up rows refreshed one by one, no
    key look-ups to trace what they reach."""
    tid = tenant.tenant_id
    acc = account(session, tid)
    add(session, tid, *(credit_row(acc, 1_000 + n, f"order {n}", f"Payer {n}") for n in range(40)))
    run(session, tid)
    run(session, tid)
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_rest):
        seen.append(statement)

    rows = (credit_row(acc, 5_000 + n, f"bulk {n}", f"Bulk {n}") for n in range(MIN_FULL))
    add(session, tid, *rows)
    event.listen(db.engine(), "before_cursor_execute", record)
    try:
        counts = run(session, tid)
    finally:
        event.remove(db.engine(), "before_cursor_execute", record)
    assert (counts["mode"], counts["transactions_considered"]) == ("full", MIN_FULL + 40)
    keys = [sql.replace('"key"', "key") for sql in seen if "reconcile_keys" in sql]
    refreshed = [sql for sql in keys if sql.startswith("DELETE") and "object_id" in sql]
    looked_up = [sql for sql in keys if "WHERE" in sql and "reconcile_keys.key" in sql]
    assert (refreshed, looked_up) == ([], [])


def test_the_full_run_share_counts_the_credits_a_run_may_decide(session, tenant):
    """``_large_share`` weighs a run against the open credits the rollups count: not
    debits, settled or ignored credits, expired lines, or a Stripe account's lines."""
    tid = tenant.tenant_id
    acc = account(session, tid)
    with tenant_scope(tid):
        stripe = BankAccount(id=new_id("ba"), name="Stripe", currency="EUR", kind="stripe")
        session.add(stripe)
        session.commit()
    add(
        session,
        tid,
        *(credit_row(acc, 1_000 + n, f"open {n}", "Payer") for n in range(6)),
        credit_row(acc, 500, "in part", "Payer", match_status="partially_matched"),
        credit_row(acc, 700, "pending", "Payer", status="pending"),
        credit_row(acc, -300, "a debit", "Payer"),
        credit_row(acc, 900, "settled", "Payer", match_status="matched", amount_allocated=900),
        credit_row(acc, 800, "ignored", "Payer", match_status="ignored"),
        credit_row(acc, 600, "expired", "Payer", status="expired"),
        credit_row(stripe.id, 400, "clearing", "Stripe"),
    )
    with tenant_scope(tid):
        assert incremental._open_credits(session) == 8  # six, the part-paid, the pending
        assert incremental._large_share(session, 2)  # 8 <= 2 / 0.25
        assert not incremental._large_share(session, 1)
