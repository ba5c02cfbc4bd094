"""``make run``'s Stripe: the demo tenant is linked to a fake served in-process.

The README's demo flow (a card payment pays a demo invoice, its payout explains the bank
line) is run here as written, through ``bash`` and ``curl``.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import requests

from tests.tasks.processes import ROOT

README = (ROOT / "README.md").read_text()


@pytest.mark.postgres
def test_the_demo_tenant_takes_a_card_payment_without_a_stripe_account(demo_server):
    base, headers = demo_server["base"], {"X-API-Key": demo_server["key"]}
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


def _readme_flow() -> str:
    section = README[README.index("<!-- stripe-demo-flow -->") :]
    start = section.index("```sh\n") + len("```sh\n")
    return section[start : section.index("\n```", start)]


@pytest.mark.postgres
@pytest.mark.skipif(not shutil.which("jq"), reason="the README's demo flow uses jq")
def test_the_readmes_stripe_demo_flow_runs_as_written(demo_server):
    script = _readme_flow()
    assert "curl" in script and "127.0.0.1:8000" in script
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{demo_server['port']}")
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env={
            "PATH": "/usr/bin:/bin",
            "KEY": demo_server["key"],
            "STRIPE": demo_server["stripe"],
            "SK": demo_server["sk"],
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + demo_server["log"].read_text()[-3000:]
    shown = json.loads(done.stdout)
    breakdown = shown["breakdown"]
    assert shown["bank_transaction_id"].startswith("txn_")
    assert breakdown["net"] == shown["amount"] == breakdown["charges"] - breakdown["fees"]
    assert breakdown["fees"] > 0 and len(breakdown["invoices"]) == 1
    invoice_id = breakdown["invoices"][0]["invoice_id"]
    headers = {"X-API-Key": demo_server["key"]}
    invoice = requests.get(
        f"{demo_server['base']}/invoices/{invoice_id}", headers=headers, timeout=10
    )
    assert invoice.json()["status"] == "paid"
    credit = requests.get(
        f"{demo_server['base']}/transactions/{shown['bank_transaction_id']}",
        headers=headers,
        timeout=10,
    )
    assert credit.json()["match_status"] == "matched"
