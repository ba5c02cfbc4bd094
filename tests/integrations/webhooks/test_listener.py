"""``payymo webhooks listen``'s receiver: says what arrived and whether its signature holds."""

from __future__ import annotations

import json
import threading
import time

import requests

from integrations.webhooks import signing
from integrations.webhooks.listener import server


def test_the_listener_reports_each_delivery_and_checks_its_signature():
    secret = signing.new_secret()
    lines: list[str] = []
    listening = server("127.0.0.1", 0, secret=secret, status=200, out=lines.append)
    threading.Thread(target=listening.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{listening.server_address[1]}/"
    body = json.dumps({"id": "evt_1", "event_type": "invoice.paid"}).encode()
    try:
        good = signing.headers([secret], "evt_1", int(time.time()), body)
        assert requests.post(url, data=body, headers=good, timeout=5).status_code == 200
        forged = signing.headers([signing.new_secret()], "evt_1", int(time.time()), body)
        requests.post(url, data=body, headers=forged, timeout=5)
    finally:
        listening.shutdown()
        listening.server_close()
    assert lines[0].startswith("invoice.paid evt_1") and lines[0].endswith("signature valid")
    assert lines[1].endswith("SIGNATURE INVALID")


def test_verify_refuses_stale_malformed_and_foreign_signatures():
    secret, body = signing.new_secret(), b"{}"
    now = int(time.time())
    header = signing.payymo_signature([secret], now, body)
    assert signing.verify(secret, header, body)
    assert not signing.verify(secret, signing.payymo_signature([secret], now - 301, body), body)
    assert not signing.verify(secret, "v1=abc", body)
    assert not signing.verify(secret, f"t=x,{header.split(',')[1]}", body)
    assert not signing.verify(signing.new_secret(), header, body)
