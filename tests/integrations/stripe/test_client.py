"""The Stripe adapter with the real library against the fake: typed errors, backoff, paging."""

from __future__ import annotations

import json
import time

import pytest

from integrations.stripe.client import RATE_LIMIT_RETRIES, StripeAccount, verify_event
from integrations.stripe.errors import CardDeclined, KeyRejected, RateLimited, Refused, Unavailable
from integrations.stripe.fake import FakeStripe, serve_in_thread, sign


@pytest.fixture(scope="module")
def served():
    local = serve_in_thread(FakeStripe())
    yield local
    local.stop()


@pytest.fixture
def account(served):
    served.fake.faults.clear()
    return served.fake.new_account()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def stripe_account(served, account, sleeps):
    return StripeAccount(account.key, api_base=served.base_url, sleep=sleeps.append)


def _pay(stripe_account, key="k-1", method="pm_card_visa", amount=5_000):
    params = {
        "amount": amount,
        "currency": "gbp",
        "payment_method": method,
        "confirm": True,
        "metadata": {"invoice_id": "inv_1"},
    }
    return stripe_account.create_payment_intent(params, idempotency_key=key)


def test_a_working_key_passes_the_live_check_and_a_bad_one_says_why(served, stripe_account):
    assert stripe_account.check()["object"] == "balance"
    with pytest.raises(KeyRejected, match="Invalid API Key provided"):
        StripeAccount("sk_test_nobody_knows_this", api_base=served.base_url).check()


def test_429s_are_backed_off_with_growing_jittered_waits(served, stripe_account, sleeps):
    served.fake.fail_next(2, status=429)
    assert stripe_account.check()["object"] == "balance"
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] >= 0.5
    served.fake.fail_next(RATE_LIMIT_RETRIES + 1, status=429)
    with pytest.raises(RateLimited):
        stripe_account.check()


def test_5xx_is_retried_by_the_library_then_reported(served, stripe_account, monkeypatch):
    monkeypatch.setattr(time, "sleep", lambda _s: None)  # the library's own backoff
    served.fake.fail_next(1, status=500)
    assert stripe_account.check()["object"] == "balance"
    served.fake.fail_next(10, status=500)
    with pytest.raises(Unavailable):
        stripe_account.check()
    served.fake.faults.clear()


def test_a_decline_is_a_card_declined_with_stripes_words(stripe_account):
    with pytest.raises(CardDeclined) as caught:
        _pay(stripe_account, method="pm_card_chargeDeclined")
    assert caught.value.message == "Your card was declined."
    assert caught.value.decline_code == "generic_decline"
    assert caught.value.payment_intent.startswith("pi_")


def test_creates_are_idempotent_by_key(stripe_account):
    first, again = _pay(stripe_account, key="inv_1:5000"), _pay(stripe_account, key="inv_1:5000")
    assert first["id"] == again["id"] and first["status"] == "succeeded"
    with pytest.raises(Refused):
        _pay(stripe_account, key="inv_1:5000", amount=5_001)


def test_list_all_follows_the_cursor(stripe_account):
    made = {_pay(stripe_account, key=f"k-{n}")["id"] for n in range(5)}
    listed = list(stripe_account.list_all("payment_intents", {"limit": 2}))
    assert {i["id"] for i in listed} == made


def test_unknown_ids_are_refused_with_stripes_message(stripe_account):
    with pytest.raises(Refused, match="No such payout: 'po_missing'"):
        stripe_account.retrieve("payouts", "po_missing")


def test_events_are_verified_on_the_raw_body():
    body = json.dumps({"id": "evt_1", "object": "event", "type": "payout.paid"}).encode()
    header = sign("whsec_abc", body, int(time.time()))
    assert verify_event(body, header, "whsec_abc")["id"] == "evt_1"
    with pytest.raises(Refused):
        verify_event(body, header, "whsec_other")
    with pytest.raises(Refused):
        verify_event(body, sign("whsec_abc", body, int(time.time()) - 3600), "whsec_abc")
