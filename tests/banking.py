"""Helpers for bank connection tests: consent through the fake bank, sync now."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import requests

from payymo.tenancy import tenant_scope

SANDBOX = "SANDBOXFINANCE_SFIN0000"
MAIN_IBAN = "GB33BUKB20201555555555"
SAVINGS_IBAN = "GB94BARC10201530093459"
REDIRECT = "https://tenant.example/banks/done"


def walk(link: str) -> str:
    """Follow the consent link with plain GETs and their redirects, as a browser would,
    until the bank sends the end user back to Payymo; answers that URL."""
    fake_host = urlsplit(link).netloc
    url = link
    for _ in range(20):
        response = requests.get(url, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        location = response.headers["Location"]
        if location.startswith("/"):
            location = f"http://{fake_host}{location}"
        if urlsplit(location).netloc != fake_host:
            return location
        url = location
    raise AssertionError("the consent page never redirected back")


def callback(app, url: str):
    """Call Payymo's callback URL as the end user's browser does (no API key)."""
    parts = urlsplit(url)
    return app.test_client().get(f"{parts.path}?{parts.query}")


def connect(api, app, **body):
    """POST a connection, consent at the fake bank, land on the callback; answers both."""
    response = api.post(
        "bank_connections", json={"institution_id": SANDBOX, "redirect_url": REDIRECT, **body}
    )
    assert response.status_code == 201, response.json
    back = callback(app, walk(response.json["link"]))
    return response.json, back


def query(url: str) -> dict:
    """The query parameters of ``url``, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def sync(tenant, connection_id: str) -> dict:
    """Run the sync job's function now, as a worker would (no job row)."""
    from tasks.bank_sync import sync_connection

    return sync_connection(tenant.tenant_id, None, connection_id)


def in_tenant(session, tenant, fn):
    """Call ``fn()`` inside the tenant's scope."""
    with tenant_scope(tenant.tenant_id):
        return fn()
