"""A payout's bank credit is matched to the payout: by the engine, by hand, and undone."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from payymo.models import Job
from payymo.tenancy import tenant_scope
from tasks.reconcile import reconcile_tenant
from tasks.stripe import process_events
from tests.books import assert_books_balance
from tests.helpers import invoice_body

TODAY = dt.datetime.now(dt.UTC).date()


def _paid_payout(api, linked, amount=12_300, external_id="ERP-P1") -> dict:
    """An invoice paid by card, its charge paid out today; answers the payout as shown."""
    invoice = api.post("invoices", json=invoice_body(external_id, amount_due=amount)).json
    response = api.post(
        "stripe/payments", json={"invoice_id": invoice["id"], "payment_method": "pm_card_visa"}
    )
    assert response.status_code == 201, response.json
    payout = linked.ledger.settle(arrival=TODAY)
    linked.post_new_events()
    process_events(linked.tenant_id)
    return _payout(api, payout["id"])


def _payout(api, stripe_id: str) -> dict:
    [shown] = [p for p in api.get("stripe/payouts").json["data"] if p["stripe_id"] == stripe_id]
    return shown


def _bank_account(api) -> str:
    response = api.post("bank_accounts", json={"name": "Current account", "currency": "EUR"})
    assert response.status_code == 201, response.json
    return response.json["id"]


def _import(api, account_id: str, *lines: dict) -> list[str]:
    response = api.post(
        "transactions/import", json={"account_id": account_id, "transactions": list(lines)}
    )
    assert response.status_code == 200, response.json
    return [row["id"] for row in response.json["results"]]


def _credit(n: int, amount: int, *, days=0, name="STRIPE PAYMENTS EUROPE", text="") -> dict:
    return {
        "id": f"bank-{n}",
        "booking_date": (TODAY + dt.timedelta(days=days)).isoformat(),
        "amount": amount,
        "currency": "EUR",
        "counterparty_name": name,
        "remittance_information": text,
    }


def _run_queued(session, tenant_id: str) -> None:
    """Run the tenant's queued reconcile jobs (the embedded default has run them already)."""
    session.expire_all()
    with tenant_scope(tenant_id):
        queued = list(
            session.scalars(select(Job.id).where(Job.type == "reconcile", Job.status == "queued"))
        )
    for job_id in queued:
        reconcile_tenant(tenant_id, job_id)


def _reconcile(api, session, tenant_id: str) -> None:
    assert api.post("reconciliation/run").status_code == 202
    _run_queued(session, tenant_id)


def _match_of(api, txn_id: str, status="active") -> dict:
    found = api.get(
        "reconciliation/matches", query_string={"transaction_id": txn_id, "status": status}
    ).json["data"]
    assert len(found) == 1, found
    return found[0]


def test_the_engine_matches_a_payouts_bank_credit_to_the_payout(api, linked, session):
    payout = _paid_payout(api, linked)
    account = _bank_account(api)
    other, credit = _import(
        api,
        account,
        _credit(1, payout["amount"], name="Initech B.V.", text="INV-1042"),  # same sum, a customer
        _credit(2, payout["amount"], days=1, text="STRIPE PAYOUT"),
    )
    _reconcile(api, session, linked.tenant_id)
    match = _match_of(api, credit)
    assert (match["method"], match["amount"], match["allocations"]) == (
        "auto",
        payout["amount"],
        [],
    )
    assert match["payouts"] == [
        {
            "payout_id": payout["id"],
            "stripe_id": payout["stripe_id"],
            "amount": payout["amount"],
            "amount_display": payout["amount_display"],
            "arrival_date": TODAY.isoformat(),
            "status": "active",
        }
    ]
    assert [r["code"] for r in match["reasons"]] == [
        "payout_amount_exact",
        "payout_stripe_named",
        "payout_date",
    ]
    assert api.get(f"transactions/{credit}").json["match_status"] == "matched"
    assert api.get(f"transactions/{other}").json["match_status"] != "matched"
    shown = api.get(f"stripe/payouts/{payout['id']}").json
    assert shown["bank_transaction_id"] == credit
    matched = api.get("events", query_string={"event_type": "transaction.matched"}).json["data"]
    assert any(e["data"]["object"]["payouts"] for e in matched)
    assert_books_balance(session, linked.tenant_id)


def test_a_payout_paid_after_its_credit_arrived_finds_it(api, linked, session):
    account = _bank_account(api)
    invoice = api.post("invoices", json=invoice_body("ERP-LATE", amount_due=20_000)).json
    api.post(
        "stripe/payments", json={"invoice_id": invoice["id"], "payment_method": "pm_card_visa"}
    )
    net = 20_000 - (580 + 30)
    [credit] = _import(api, account, _credit(1, net, text="STRIPE"))
    _run_queued(session, linked.tenant_id)  # the import's run: no payout known yet
    assert api.get(f"transactions/{credit}").json["match_status"] != "matched"
    payout = linked.ledger.settle(arrival=TODAY)
    linked.post_new_events()
    process_events(linked.tenant_id)  # payout.paid queues a run
    _run_queued(session, linked.tenant_id)
    assert _payout(api, payout["id"])["bank_transaction_id"] == credit
    assert _match_of(api, credit)["payouts"][0]["stripe_id"] == payout["id"]


def test_a_payout_that_fails_after_it_was_paid_reverses_its_bank_match(api, linked, session):
    payout = _paid_payout(api, linked)
    [credit] = _import(api, _bank_account(api), _credit(1, payout["amount"]))
    _reconcile(api, session, linked.tenant_id)
    match = _match_of(api, credit)
    linked.ledger.fail_payout(payout["stripe_id"])
    linked.post_new_events()
    process_events(linked.tenant_id)
    reversed_ = api.get(f"reconciliation/matches/{match['id']}").json
    assert (reversed_["status"], reversed_["reversed_by"]) == ("reversed", "stripe")
    assert reversed_["payouts"][0]["status"] == "reversed"
    assert api.get(f"transactions/{credit}").json["match_status"] == "unmatched"
    shown = _payout(api, payout["stripe_id"])
    assert (shown["status"], shown["bank_transaction_id"]) == ("failed", None)
    types = [e["event_type"] for e in api.get("events").json["data"]]
    assert "match.reversed" in types and "stripe_payout.failed" in types
    _reconcile(api, session, linked.tenant_id)  # a failed payout is no candidate
    assert api.get(f"transactions/{credit}").json["match_status"] == "unmatched"
    assert_books_balance(session, linked.tenant_id)


def test_a_person_undoes_the_engines_choice_and_picks_the_line_by_hand(api, linked, session):
    payout = _paid_payout(api, linked)
    wrong, right = _import(
        api,
        _bank_account(api),
        _credit(1, payout["amount"], text="STRIPE"),
        _credit(2, payout["amount"], days=3, name="BANK GIRO", text="ref 7781"),
    )
    _reconcile(api, session, linked.tenant_id)
    engine_match = _match_of(api, wrong)
    undone = api.delete(f"reconciliation/matches/{engine_match['id']}")
    assert undone.status_code == 200 and undone.json["status"] == "reversed"
    assert _payout(api, payout["stripe_id"])["bank_transaction_id"] is None
    _reconcile(api, session, linked.tenant_id)  # the refused pair is not made again
    assert api.get(f"transactions/{wrong}").json["match_status"] == "unmatched"
    response = api.post(f"stripe/payouts/{payout['id']}/match", json={"transaction_id": right})
    assert response.status_code == 201, response.json
    assert (response.json["method"], response.json["transaction_id"]) == ("manual", right)
    assert _payout(api, payout["stripe_id"])["bank_transaction_id"] == right
    assert_books_balance(session, linked.tenant_id)


def test_matching_by_hand_is_checked(api, other_api, linked):
    payout = _paid_payout(api, linked)
    account = _bank_account(api)
    short, exact, debit = _import(
        api,
        account,
        # Not naming Stripe: the engine (run after the import) leaves them to a person.
        _credit(1, payout["amount"] - 1, name="BANK GIRO"),
        _credit(2, payout["amount"], name="BANK GIRO"),
        _credit(3, -payout["amount"], name="BANK GIRO"),
    )
    url = f"stripe/payouts/{payout['id']}/match"
    codes = {
        txn: api.post(url, json={"transaction_id": txn}).json["error"]["code"]
        for txn in (short, debit)
    }
    assert codes == {short: "amount_mismatch", debit: "transaction_not_credit"}
    missing = api.post(url, json={"transaction_id": "txn_01JDX0000000000000000000"})
    assert (missing.status_code, missing.json["error"]["param"]) == (404, "transaction_id")
    assert api.post(url, json={}).status_code == 400
    assert api.post(url, json={"transaction_id": exact}).status_code == 201
    again = api.post(url, json={"transaction_id": exact})
    assert (again.status_code, again.json["error"]["code"]) == (409, "payout_matched")
    assert other_api.post(url, json={"transaction_id": exact}).status_code == 404
    clearing = next(
        t["id"]
        for t in api.get("transactions").json["data"]
        if t["provider_id"] and t["provider_id"].startswith("pi_")
    )
    api.delete(f"reconciliation/matches/{_match_of(api, exact)['id']}")  # free the payout
    refused = api.post(url, json={"transaction_id": clearing})
    assert (refused.status_code, refused.json["error"]["code"]) == (400, "transaction_not_bank")
