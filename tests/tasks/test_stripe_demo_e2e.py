"""``make run``'s Stripe: the demo tenant is linked to a fake served in-process."""

from __future__ import annotations

import json
import subprocess
import time

import pytest
import requests

from tests.tasks.processes import PAYYMO, ROOT, free_port, payymo_env

DEADLINE = 60


@pytest.mark.postgres
def test_the_demo_tenant_takes_a_card_payment_without_a_stripe_account(settings, sessions):
    env = payymo_env(settings, PAYYMO_ENV="development", PAYYMO_REDIS_URL=None)
    demo = subprocess.run(
        [PAYYMO, "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    created = json.loads(demo.stdout)
    sessions.created.append(created["tenant_id"])
    port = free_port()
    proc = subprocess.Popen(
        [PAYYMO, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"X-API-Key": created["api_key"]}
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        linked = requests.get(f"{base}/integrations/stripe", headers=headers, timeout=10).json()
        assert linked["status"] == "linked" and linked["key_hint"].startswith("sk_test_")
        invoices = requests.get(
            f"{base}/invoices", params={"status": "open"}, headers=headers, timeout=10
        ).json()["data"]
        invoice = invoices[0]
        paid = requests.post(
            f"{base}/stripe/payments",
            json={"invoice_id": invoice["id"], "payment_method": "pm_card_visa"},
            headers=headers,
            timeout=10,
        )
        assert paid.status_code == 201, paid.text
        after = requests.get(f"{base}/invoices/{invoice['id']}", headers=headers, timeout=10)
        assert after.json()["status"] == "paid"
    finally:
        proc.terminate()
        proc.wait(30)
