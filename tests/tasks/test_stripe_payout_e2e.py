"""The whole Stripe loop in real processes: invoice → card payment → payout → bank line.

``payymo serve`` and ``payymo worker`` run as children on PostgreSQL and Redis; the app
talks to the fake Stripe with the real ``stripe`` library, the test confirms the payment
with the real library too (as Stripe.js would), and the fake posts its Stripe-signed
events over HTTP to the served webhook. Committed data; the tenant is deleted after.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import time

import pytest
import requests
import stripe

from payymo.services import api_keys
from payymo.services import tenants as tenant_service
from payymo.tenancy import tenant_scope
from tests.helpers import invoice_body
from tests.tasks.processes import PAYYMO, ROOT, free_port, payymo_env, terminate

pytestmark = [pytest.mark.redis, pytest.mark.postgres]

DEADLINE = 60
WEBHOOK_SECRET = "whsec_e2eSecretForTheStripeLoop"


def _until(what, check, log):
    """Poll ``check`` until it answers something truthy; fail with the logs after DEADLINE."""
    deadline = time.monotonic() + DEADLINE
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"never: {what}\n{log()}"
        time.sleep(0.2)


@pytest.fixture
def served(settings, sessions, stripe_server, tmp_path):
    """A committed tenant with a key, and ``payymo serve`` plus ``payymo worker`` for it."""
    with sessions() as session:
        tenant = tenant_service.create_tenant(session=session, name="Card Loop Ltd")
        session.commit()
    sessions.created.append(tenant.id)
    with sessions() as session, tenant_scope(tenant.id):
        _key, secret = api_keys.create_key(session=session, name="e2e")
        session.commit()
    port = free_port()
    env = payymo_env(
        settings, PAYYMO_ENV="development", PAYYMO_STRIPE_API_BASE=stripe_server.base_url
    )
    logs = {name: tmp_path / f"{name}.log" for name in ("serve", "worker")}
    commands = {
        "serve": [PAYYMO, "serve", "--host", "127.0.0.1", "--port", str(port)],
        "worker": [PAYYMO, "worker", "--no-webhooks"],
    }
    procs = []
    for name, command in commands.items():
        with open(logs[name], "w") as log:
            procs.append(
                subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            )

    def log() -> str:
        return "\n".join(f"--- {n}\n{p.read_text()[-3000:]}" for n, p in logs.items())

    base = f"http://127.0.0.1:{port}"
    _until("the server answers", lambda: _answers(f"{base}/healthz"), log)
    try:
        yield {
            "tenant_id": tenant.id,
            "base": base,
            "api": f"{base}/api/v1",
            "headers": {"X-API-Key": secret},
            "log": log,
        }
    finally:
        for proc in procs:
            terminate(proc)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


def test_an_invoice_paid_by_card_reaches_the_bank_line_through_its_payout(served, stripe_server):
    api, headers, log = served["api"], served["headers"], served["log"]

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{api}/{path}", headers=headers, timeout=15, **kwargs)

    account = stripe_server.fake.new_account()
    stripe_server.fake.send_webhooks_to(
        account.key, f"{served['base']}/webhooks/stripe/{served['tenant_id']}", WEBHOOK_SECRET
    )
    linked = call(
        "PUT",
        "integrations/stripe",
        json={"api_key": account.key, "webhook_secret": WEBHOOK_SECRET},
    )
    assert linked.status_code == 200, linked.text
    invoice = call("POST", "invoices", json=invoice_body("LOOP-1", amount_due=12_300)).json()
    bank = call("POST", "bank_accounts", json={"name": "Current", "currency": "EUR"}).json()

    # The invoice → a PaymentIntent; the customer pays it in the browser (Stripe.js).
    created = call("POST", "stripe/payments", json={"invoice_id": invoice["id"]})
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "requires_payment_method"
    assert created.json()["client_secret"].startswith(created.json()["stripe_id"])
    browser = stripe.StripeClient(account.key, base_addresses={"api": stripe_server.base_url})
    browser.v1.payment_intents.confirm(
        created.json()["stripe_id"], params={"payment_method": "pm_card_visa"}
    )
    assert call("GET", f"invoices/{invoice['id']}").json()["status"] == "open"

    # Stripe's signed payment_intent.succeeded → stored → the worker → the invoice paid.
    assert set(stripe_server.fake.deliver(account.key)) == {200}
    _until(
        "the invoice is paid",
        lambda: call("GET", f"invoices/{invoice['id']}").json()["status"] == "paid",
        log,
    )
    payment = call("GET", f"stripe/payments/{created.json()['id']}").json()
    assert (payment["status"], payment["fee"]) == ("succeeded", 357 + 30)

    # The day's charges paid out; payout.paid and its reconciliation reach the worker.
    today = dt.datetime.now(dt.UTC).date()
    payout = account.ledger.settle(arrival=today)
    assert set(stripe_server.fake.deliver(account.key)) == {200}
    shown = _until(
        "the payout is broken down",
        lambda: next(
            (p for p in call("GET", "stripe/payouts").json()["data"] if p["breakdown"]), None
        ),
        log,
    )
    assert (shown["stripe_id"], shown["amount"]) == (payout["id"], 12_300 - 387)

    # The bank credit arrives; the worker's run matches it to the payout.
    imported = call(
        "POST",
        "transactions/import",
        json={
            "account_id": bank["id"],
            "transactions": [
                {
                    "id": "stmt-1",
                    "booking_date": today.isoformat(),
                    "amount": payout["amount"],
                    "currency": "EUR",
                    "counterparty_name": "STRIPE PAYMENTS EUROPE LTD",
                    "remittance_information": f"STRIPE {payout['trace_id']['value']}",
                }
            ],
        },
    )
    assert imported.status_code == 200, imported.text
    [line] = imported.json()["results"]
    matched = _until(
        "the bank credit is matched to the payout",
        lambda: (lambda p: p if p["bank_transaction_id"] else None)(
            call("GET", f"stripe/payouts/{shown['id']}").json()
        ),
        log,
    )
    assert matched["bank_transaction_id"] == line["id"]
    breakdown = matched["breakdown"]
    assert {k: v for k, v in breakdown.items() if not k.endswith("_display")} == {
        "charges": 12_300,
        "charge_count": 1,
        "refunds": 0,
        "refund_count": 0,
        "disputes": 0,
        "dispute_count": 0,
        "other": 0,
        "fees": 387,
        "net": payout["amount"],
        "invoices": [
            {
                "invoice_id": invoice["id"],
                "invoice_number": invoice["number"],
                "amount": 12_300,
                "amount_display": "123.00",
            }
        ],
    }
    assert (breakdown["fees_display"], breakdown["net_display"]) == ("3.87", "119.13")
    credit = call("GET", f"transactions/{line['id']}").json()
    assert credit["match_status"] == "matched"
    [match] = call("GET", "reconciliation/matches", params={"transaction_id": line["id"]}).json()[
        "data"
    ]
    assert [p["payout_id"] for p in match["payouts"]] == [shown["id"]]
    assert match["reasons"][1]["code"] == "payout_trace_id"
