"""Stripe through the API: linking, payments for invoices, signed webhooks, payouts."""

from __future__ import annotations

from sqlalchemy import select

from payymo.models import StripeEvent, StripeLink
from payymo.tenancy import system_scope
from tasks.stripe import process_events
from tests.helpers import invoice_body
from tests.stripe.conftest import WEBHOOK_SECRET


def _invoice(api, amount=12_300, currency="EUR", external_id="ERP-S1") -> dict:
    response = api.post(
        "invoices", json=invoice_body(external_id, amount_due=amount, currency=currency)
    )
    assert response.status_code == 201
    return response.json


def _pay(api, invoice_id, method="pm_card_visa", **extra):
    return api.post(
        "stripe/payments", json={"invoice_id": invoice_id, "payment_method": method, **extra}
    )


def _process(linked) -> None:
    """What the queued job does (a no-op when the embedded default already ran it)."""
    process_events(linked.tenant_id)


def test_linking_checks_the_key_and_shows_it_masked(api, tenant, fake_stripe, session):
    account = fake_stripe.new_account()
    response = api.request(
        "PUT",
        "integrations/stripe",
        json={"api_key": account.key, "webhook_secret": WEBHOOK_SECRET},
    )
    assert response.status_code == 200
    body = response.json
    assert (body["status"], body["livemode"]) == ("linked", False)
    assert body["key_hint"] == f"sk_test_…{account.key[-4:]}"
    assert body["webhook_url"].endswith(f"/webhooks/stripe/{tenant.tenant_id}")
    assert api.get("integrations/stripe").json["key_hint"] == body["key_hint"]
    with system_scope():
        stored = session.scalars(select(StripeLink)).one()
    assert account.key not in stored.api_key and WEBHOOK_SECRET not in stored.webhook_secret
    gone = api.delete("integrations/stripe")
    assert gone.status_code == 200 and gone.json["status"] == "not_linked"


def test_a_bad_key_is_refused_with_stripes_message_and_nothing_stored(api, session):
    response = api.request(
        "PUT",
        "integrations/stripe",
        json={"api_key": "sk_test_notAKeyStripeKnows99", "webhook_secret": WEBHOOK_SECRET},
    )
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["code"], error["param"]) == ("stripe_key_rejected", "api_key")
    assert "Invalid API Key provided" in error["message"]
    malformed = api.request(
        "PUT",
        "integrations/stripe",
        json={"api_key": "pk_test_1234567890", "webhook_secret": "x" * 12},
    )
    assert malformed.status_code == 400 and malformed.json["error"]["param"] == "api_key"
    assert api.get("integrations/stripe").json["status"] == "not_linked"


def test_a_card_payment_for_an_invoice(api, linked):
    invoice = _invoice(api)
    response = _pay(api, invoice["id"])
    assert response.status_code == 201, response.json
    payment = response.json
    assert (payment["status"], payment["invoice_id"], payment["amount"]) == (
        "succeeded",
        invoice["id"],
        12_300,
    )
    assert payment["client_secret"].startswith(payment["stripe_id"] + "_secret_")
    assert (payment["fee"], payment["net"], payment["fee_display"]) == (387, 11_913, "3.87")
    again = _pay(api, invoice["id"])  # the invoice is paid now: nothing left to take
    assert again.status_code == 409 and again.json["error"]["code"] == "invoice_settled"
    listed = api.get("stripe/payments", query_string={"invoice_id": invoice["id"]}).json
    assert [p["id"] for p in listed["data"]] == [payment["id"]]
    assert "client_secret" not in listed["data"][0]


def test_a_declined_card_answers_its_decline_in_plain_words(api, linked):
    invoice = _invoice(api)
    response = _pay(api, invoice["id"], method="pm_card_chargeDeclinedInsufficientFunds")
    assert response.status_code == 402
    error = response.json["error"]
    assert (error["type"], error["code"]) == ("card_error", "insufficient_funds")
    assert error["message"] == "The card was declined: Your card has insufficient funds."


def test_a_retried_request_takes_one_payment(api, linked):
    invoice = _invoice(api)
    body = {"invoice_id": invoice["id"], "payment_method": "pm_card_visa"}
    headers = {"Idempotency-Key": "pay-erp-s1"}
    first = api.post("stripe/payments", json=body, headers=headers)
    again = api.post("stripe/payments", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json and again.headers["Idempotent-Replayed"] == "true"
    assert len(linked.ledger.all("payment_intent")) == 1


def test_payment_requests_are_checked(api, linked):
    invoice = _invoice(api)
    too_much = _pay(api, invoice["id"], amount=12_301)
    assert too_much.status_code == 400 and too_much.json["error"]["param"] == "amount"
    missing = _pay(api, "inv_00000000000000000000000000")
    assert missing.status_code == 404 and missing.json["error"]["param"] == "invoice_id"


def test_signed_events_are_stored_once_and_processed(api, linked, session):
    invoice = _invoice(api)
    linked.ledger.create_payment_intent(
        {
            "amount": "12300",
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": "true",
            "metadata": {"invoice_id": invoice["id"]},
        }
    )
    answers = linked.post_new_events()
    assert {a.status_code for a in answers} == {200}
    assert all(a.json == {"received": True, "duplicate": False} for a in answers)
    replay = linked.post_event(linked.ledger.events[-1])
    assert replay.status_code == 200 and replay.json["duplicate"] is True
    _process(linked)
    [payment] = api.get("stripe/payments").json["data"]
    assert (payment["status"], payment["invoice_id"]) == ("succeeded", invoice["id"])
    succeeded = api.get("events", query_string={"event_type": "stripe_payment.succeeded"})
    assert len(succeeded.json["data"]) == 1
    with system_scope():
        stored = session.scalars(select(StripeEvent.processed_at)).all()
    assert len(stored) == len(linked.ledger.events) and all(stored)


def test_a_bad_signature_or_an_unknown_tenant_stores_nothing(api, linked, session):
    event = {"id": "evt_forged", "object": "event", "type": "payout.paid", "data": {"object": {}}}
    forged = linked.post_event(event, secret="whsec_someoneElse12345")
    assert forged.status_code == 400
    assert forged.json["error"]["code"] == "signature_invalid"
    import time

    stale = linked.post_event(event, stamp=time.time() - 3600)
    assert stale.status_code == 400
    stranger = api.client.post(
        "/webhooks/stripe/ten_00000000000000000000000000",
        data=b"{}",
        headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"},
    )
    assert stranger.status_code == 404
    with system_scope():
        assert session.scalars(select(StripeEvent)).all() == []


def test_events_out_of_order_reach_the_same_end_state(api, linked):
    invoice = _invoice(api)
    intent = linked.ledger.create_payment_intent(
        {
            "amount": "12300",
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": "true",
            "metadata": {"invoice_id": invoice["id"]},
        }
    )
    linked.ledger.create_refund({"payment_intent": intent["id"], "amount": "2300"})
    for event in reversed(linked.ledger.events):  # the refund arrives first
        assert linked.post_event(event).status_code == 200
    _process(linked)
    [payment] = api.get("stripe/payments").json["data"]
    assert (payment["status"], payment["amount_refunded"]) == ("succeeded", 2_300)
    types = [e["event_type"] for e in api.get("events").json["data"]]
    assert types.count("stripe_payment.succeeded") == 1 and types.count("refund.created") == 1


def test_a_paid_payout_is_broken_down_into_charges_refunds_and_fees(api, linked):
    invoice = _invoice(api, amount=50_000)
    assert _pay(api, invoice["id"], amount=30_000).status_code == 201
    assert _pay(api, invoice["id"], amount=20_000).status_code == 201
    [first, _] = api.get("stripe/payments").json["data"]
    linked.ledger.create_refund({"payment_intent": first["stripe_id"], "amount": "5000"})
    payout = linked.ledger.settle()
    linked.post_new_events()
    _process(linked)
    [shown] = api.get("stripe/payouts").json["data"]
    assert (shown["stripe_id"], shown["status"], shown["amount"]) == (
        payout["id"],
        "paid",
        payout["amount"],
    )
    breakdown = shown["breakdown"]
    assert (breakdown["charges"], breakdown["charge_count"]) == (50_000, 2)
    assert (breakdown["refunds"], breakdown["refund_count"]) == (-5_000, 1)
    assert breakdown["fees"] == (870 + 30) + (580 + 30)  # 2.9 % + 0.30 each
    assert breakdown["net"] == shown["amount"] == 50_000 - 5_000 - 1_510
    assert breakdown["other"] == 0
    assert (breakdown["fees_display"], breakdown["net_display"]) == ("15.10", "434.90")
    assert breakdown["invoices"] == [
        {
            "invoice_id": invoice["id"],
            "invoice_number": invoice["number"],
            "amount": 50_000,
            "amount_display": "500.00",
        }
    ]
    assert api.get(f"stripe/payouts/{shown['id']}").json == shown
    paid = api.get("events", query_string={"event_type": "stripe_payout.paid"}).json["data"]
    assert [e["data"]["object"]["id"] for e in paid] == [shown["id"]]


def test_zero_decimal_amounts_stay_exact(api, linked):
    invoice = _invoice(api, amount=5_000, currency="JPY", external_id="ERP-JPY")
    payment = _pay(api, invoice["id"]).json
    assert (payment["currency"], payment["amount"], payment["amount_display"]) == (
        "JPY",
        5_000,
        "5000",
    )
    assert payment["fee"] == 145  # 2.9 % of ¥5,000, no fixed part in yen


def test_three_decimal_amounts_stay_exact_through_the_payout(api, linked):
    invoice = _invoice(api, amount=12_340, currency="KWD", external_id="ERP-KWD")
    payment = _pay(api, invoice["id"]).json
    assert (payment["amount"], payment["amount_display"]) == (12_340, "12.340")
    assert payment["fee"] == 358 + 300  # 2.9 % rounded up, and 0.300 KWD
    assert api.get(f"invoices/{invoice['id']}").json["amount_paid"] == 12_340
    linked.ledger.settle()
    linked.post_new_events()
    _process(linked)
    [payout] = api.get("stripe/payouts").json["data"]
    assert (payout["currency"], payout["amount"], payout["amount_display"]) == (
        "KWD",
        12_340 - 658,
        "11.682",
    )
    assert payout["breakdown"]["fees_display"] == "0.658"


def test_another_tenants_payments_are_not_found(api, other_api, linked):
    invoice = _invoice(api)
    payment = _pay(api, invoice["id"]).json
    assert other_api.get(f"stripe/payments/{payment['id']}").status_code == 404
    assert other_api.get("stripe/payments").json["data"] == []


def test_a_dispute_opened_and_lost_is_recorded_with_its_events(api, linked):
    invoice = _invoice(api)
    payment = _pay(api, invoice["id"]).json
    assert api.get(f"invoices/{invoice['id']}").json["dispute_status"] is None
    dispute = linked.ledger.open_dispute(payment["charge_id"])
    linked.post_new_events()
    _process(linked)
    flagged = api.get(f"invoices/{invoice['id']}").json
    assert (flagged["dispute_status"], flagged["status"]) == ("needs_response", "paid")
    linked.ledger.close_dispute(dispute["id"], won=False)
    linked.post_new_events()
    _process(linked)
    shown = api.get(f"stripe/payments/{payment['id']}").json
    assert shown["dispute_status"] == "lost"
    assert api.get(f"invoices/{invoice['id']}").json["dispute_status"] == "lost"
    types = [e["event_type"] for e in api.get("events").json["data"]]
    assert types.count("dispute.created") == 1 and types.count("dispute.closed") == 1
    flags = [
        e["data"]
        for e in api.get("events", query_string={"event_type": "invoice.updated"}).json["data"]
        if "dispute_status" in e["data"].get("previous_attributes", {})
    ]
    assert [f["previous_attributes"]["dispute_status"] for f in reversed(flags)] == [
        None,
        "needs_response",
    ]


def test_a_paid_payout_that_bounces_is_marked_failed(api, linked):
    invoice = _invoice(api)
    _pay(api, invoice["id"])
    payout = linked.ledger.settle()
    linked.ledger.fail_payout(payout["id"])
    linked.post_new_events()
    _process(linked)
    [shown] = api.get("stripe/payouts").json["data"]
    assert (shown["status"], shown["failure_code"]) == ("failed", "account_closed")
    failed = api.get("events", query_string={"event_type": "stripe_payout.failed"}).json
    assert [e["data"]["object"]["id"] for e in failed["data"]] == [shown["id"]]


def test_a_manual_payout_is_explained_by_the_balance_since_the_payout_before_it(api, linked):
    earlier = _invoice(api, external_id="ERP-EARLY")
    _pay(api, earlier["id"])
    linked.ledger.settle()  # automatic: its lines are its own
    first, second = (_invoice(api, amount=8_000, external_id=f"ERP-M{i}") for i in (1, 2))
    paid = [_pay(api, invoice["id"]).json for invoice in (first, second)]
    linked.ledger.create_refund({"payment_intent": paid[0]["stripe_id"], "amount": "1000"})
    manual = linked.ledger.settle(automatic=False)
    linked.post_new_events()
    _process(linked)
    shown = next(
        p for p in api.get("stripe/payouts").json["data"] if p["stripe_id"] == manual["id"]
    )
    assert (shown["automatic"], shown["reconciliation_status"]) == (False, "not_applicable")
    assert shown["breakdown_source"] == "between_payouts"  # ?payout= cannot list its lines
    breakdown = shown["breakdown"]
    assert (breakdown["charges"], breakdown["charge_count"]) == (16_000, 2)
    assert (breakdown["refunds"], breakdown["refund_count"]) == (-1_000, 1)
    assert breakdown["fees"] == 2 * (232 + 30)
    assert breakdown["net"] == shown["amount"] == 16_000 - 1_000 - 524
    assert breakdown["invoices"] == [
        {
            "invoice_id": invoice["id"],
            "invoice_number": invoice["number"],
            "amount": 8_000,
            "amount_display": "80.00",
        }
        for invoice in sorted((first, second), key=lambda i: i["id"])
    ]


def _matches(api, invoice_id):
    return api.get("reconciliation/matches", query_string={"invoice_id": invoice_id}).json["data"]


def test_a_succeeded_payment_pays_its_invoice_through_a_stripe_match(api, linked):
    invoice = _invoice(api)
    payment = _pay(api, invoice["id"]).json
    paid = api.get(f"invoices/{invoice['id']}").json
    assert (paid["status"], paid["amount_paid"]) == ("paid", 12_300)
    [match] = _matches(api, invoice["id"])
    assert (match["method"], match["amount"], match["created_by"]) == ("stripe", 12_300, "stripe")
    line = api.get(f"transactions/{match['transaction_id']}").json
    assert (line["provider_id"], line["amount"], line["match_status"]) == (
        payment["stripe_id"],
        12_300,
        "matched",
    )
    [account] = [a for a in api.get("bank_accounts").json["data"] if a["id"] == line["account_id"]]
    assert (account["kind"], account["name"]) == ("stripe", "Stripe balance (EUR)")
    types = [e["event_type"] for e in api.get("events").json["data"]]
    assert "invoice.paid" in types and "transaction.matched" in types


def test_refunds_take_back_their_share_of_the_invoice(api, linked):
    invoice = _invoice(api)
    payment = _pay(api, invoice["id"]).json
    linked.ledger.create_refund({"payment_intent": payment["stripe_id"], "amount": "2300"})
    linked.post_new_events()
    _process(linked)
    partly = api.get(f"invoices/{invoice['id']}").json
    assert (partly["status"], partly["amount_paid"]) == ("partially_paid", 10_000)
    live = [m for m in _matches(api, invoice["id"]) if m["status"] == "active"]
    assert [m["amount"] for m in live] == [10_000]
    linked.ledger.create_refund({"payment_intent": payment["stripe_id"]})  # the rest
    linked.post_new_events()
    _process(linked)
    gone = api.get(f"invoices/{invoice['id']}").json
    assert (gone["status"], gone["amount_paid"]) == ("open", 0)


def test_a_lost_dispute_reverses_the_payment_and_a_won_one_keeps_it(api, linked):
    lost_invoice = _invoice(api, external_id="ERP-LOST")
    won_invoice = _invoice(api, external_id="ERP-WON")
    lost = _pay(api, lost_invoice["id"]).json
    won = _pay(api, won_invoice["id"]).json
    linked.ledger.close_dispute(linked.ledger.open_dispute(lost["charge_id"])["id"], won=False)
    linked.ledger.close_dispute(linked.ledger.open_dispute(won["charge_id"])["id"], won=True)
    linked.post_new_events()
    _process(linked)
    lost_now = api.get(f"invoices/{lost_invoice['id']}").json
    won_now = api.get(f"invoices/{won_invoice['id']}").json
    assert (lost_now["status"], lost_now["dispute_status"]) == ("open", "lost")
    assert (won_now["status"], won_now["dispute_status"]) == ("paid", "won")


def test_a_payment_for_no_invoice_stays_unmatched_and_the_engine_leaves_it(api, linked):
    from tasks.reconcile import reconcile_tenant

    _invoice(api)  # same amount, could be guessed: it must not be
    linked.ledger.create_payment_intent(
        {"amount": "12300", "currency": "eur", "payment_method": "pm_card_visa", "confirm": "true"}
    )
    linked.post_new_events()
    _process(linked)
    [payment] = api.get("stripe/payments").json["data"]
    assert payment["invoice_id"] is None
    job = api.post("reconciliation/run").json
    reconcile_tenant(linked.tenant_id, job["id"])
    assert api.get("reconciliation/matches").json["data"] == []
    assert api.get("reconciliation/suggestions").json["data"] == []
