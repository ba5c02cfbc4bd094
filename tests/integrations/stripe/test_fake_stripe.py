"""The fake Stripe speaks Stripe's wire format: the real ``stripe`` library drives it."""

from __future__ import annotations

import json

import pytest
import stripe

from integrations.stripe.fake import FakeStripe, serve_in_thread, sign


@pytest.fixture(scope="module")
def served():
    local = serve_in_thread(FakeStripe())
    yield local
    local.stop()


@pytest.fixture
def account(served):
    return served.fake.new_account()


@pytest.fixture
def client(served, account):
    return stripe.StripeClient(
        account.key, base_addresses={"api": served.base_url}, max_network_retries=0
    )


def _pay(client, amount=12_300, currency="eur", method="pm_card_visa", **extra):
    params = {
        "amount": amount,
        "currency": currency,
        "payment_method": method,
        "confirm": True,
        "metadata": {"invoice_id": "inv_1"},
        "payment_method_types": ["card"],
        **extra,
    }
    return client.v1.payment_intents.create(params=params)


def test_a_card_payment_succeeds_with_a_charge_and_a_fee(client):
    intent = _pay(client)
    assert (intent.status, intent.amount_received, intent.metadata["invoice_id"]) == (
        "succeeded",
        12_300,
        "inv_1",
    )
    assert intent.client_secret.startswith(intent.id + "_secret_")
    charge = client.v1.charges.retrieve(intent.latest_charge)
    balance = client.v1.balance_transactions.retrieve(charge.balance_transaction)
    assert (balance.amount, balance.fee, balance.net) == (12_300, 387, 11_913)
    assert balance.type == "charge" and balance.source == charge.id


def test_a_declined_card_raises_the_card_error_with_its_decline_code(client):
    with pytest.raises(stripe.CardError) as caught:
        _pay(client, method="pm_card_chargeDeclinedInsufficientFunds")
    error = caught.value
    assert error.code == "card_declined"
    assert error.user_message == "Your card has insufficient funds."
    assert error.error.decline_code == "insufficient_funds"
    assert error.error.payment_intent.status == "requires_payment_method"


def test_refunds_and_a_payout_broken_down_by_cursor(client, served, account):
    intents = [_pay(client, amount=1_000 * n) for n in range(1, 4)]
    refund = client.v1.refunds.create(params={"payment_intent": intents[0].id, "amount": 400})
    assert refund.status == "succeeded" and refund.amount == 400
    charge = client.v1.charges.retrieve(intents[0].latest_charge)
    assert (charge.amount_refunded, charge.refunded) == (400, False)
    payout = served.fake.ledger(account.key).settle()
    fetched = client.v1.payouts.retrieve(payout["id"])
    assert fetched.status == "paid" and fetched.reconciliation_status == "completed"
    lines = list(
        client.v1.balance_transactions.list(
            params={"payout": fetched.id, "limit": 2}
        ).auto_paging_iter()
    )
    # As Stripe lists them: what the payout paid out, and the payout's own line.
    assert sorted(line.type for line in lines) == ["charge", "charge", "charge", "payout", "refund"]
    contents = [line for line in lines if line.type != "payout"]
    assert sum(line.net for line in contents) == fetched.amount
    assert fetched.amount == 6_000 - 400 - sum(line.fee for line in contents)
    [own] = [line for line in lines if line.type == "payout"]
    assert own.amount == -fetched.amount


def test_errors_come_in_stripes_envelope(client, served):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_nothing")
    assert missing.value.code == "resource_missing"
    assert "No such payment_intent: 'pi_nothing'" in missing.value.user_message
    served.fake.fail_next(1, status=429)
    with pytest.raises(stripe.RateLimitError):
        client.v1.balance.retrieve()
    assert client.v1.balance.retrieve().object == "balance"
    stranger = stripe.StripeClient(
        "sk_test_unknown_key_1234", base_addresses={"api": served.base_url}
    )
    with pytest.raises(stripe.AuthenticationError):
        stranger.v1.balance.retrieve()


def test_idempotency_keys_replay_and_refuse_other_parameters(client):
    options = {"idempotency_key": "pay-inv-1"}
    params = {"amount": 500, "currency": "jpy", "payment_method_types": ["card"]}
    first = client.v1.payment_intents.create(params=params, options=options)
    again = client.v1.payment_intents.create(params=params, options=options)
    assert first.id == again.id and first.currency == "jpy"
    with pytest.raises(stripe.IdempotencyError):
        client.v1.payment_intents.create(params={**params, "amount": 501}, options=options)


def test_webhooks_are_signed_as_stripe_signs_them(client, served, account):
    _pay(client)
    event = served.fake.ledger(account.key).events[-1]
    body = json.dumps(event).encode()
    import time

    header = sign("whsec_test", body, int(time.time()))
    verified = stripe.Webhook.construct_event(body, header, "whsec_test")
    assert verified.type == "payment_intent.succeeded"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, header, "whsec_other")


def test_a_port_in_use_raises_oserror_and_leaves_the_process_running():
    # werkzeug's own bind would print and exit; `payymo serve` falls back to any port.
    taken = serve_in_thread(FakeStripe())
    try:
        port = int(taken.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            serve_in_thread(FakeStripe(), port=port)
    finally:
        taken.stop()
