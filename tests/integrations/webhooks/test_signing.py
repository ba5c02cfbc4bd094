"""Webhook signatures: our X-Webhook-Signature and Standard Webhooks, checked independently."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from integrations.webhooks import signing


def test_a_secret_is_whsec_and_base64_of_32_random_bytes():
    first, second = signing.new_secret(), signing.new_secret()
    assert first != second
    assert first.startswith("whsec_")
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32


def test_payymo_signature_is_hex_hmac_of_timestamp_dot_body_keyed_by_the_whole_secret():
    secret, body = signing.new_secret(), b'{"id":"evt_1"}'
    header = signing.payymo_signature([secret], 1_700_000_000, body)
    expected = hmac.new(secret.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


def test_rotation_signs_once_per_live_secret():
    old, new, body = signing.new_secret(), signing.new_secret(), b"{}"
    header = signing.payymo_signature([new, old], 1_700_000_000, body)
    parts = header.split(",")
    assert parts[0] == "t=1700000000"
    assert len([p for p in parts if p.startswith("v1=")]) == 2


@pytest.mark.parametrize("rotating", [False, True])
def test_standard_webhooks_library_verifies_our_headers(rotating):
    secret, old = signing.new_secret(), signing.new_secret()
    live = [secret, old] if rotating else [secret]
    body = json.dumps({"id": "evt_1", "event_type": "invoice.paid"}).encode()
    import time

    stamp = int(time.time())
    headers = signing.headers(live, "evt_1", stamp, body)
    for key in live:
        assert Webhook(key).verify(body, headers) == json.loads(body)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body + b" ", headers)
