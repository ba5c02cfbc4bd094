"""SSRF through the API and the dispatcher: production refuses internal targets, twice."""

from __future__ import annotations

import random
from contextlib import contextmanager

import pytest

from payymo import create_app, runtime
from tasks.webhooks import Dispatcher
from tests.helpers import ApiClient, invoice_body
from tests.webhooks.conftest import subscribe

PRODUCTION_TARGETS = {"webhook_allow_http": False, "webhook_allow_private": False}


@contextmanager
def _production(settings, tenant):
    """The API with production's webhook policy (the rest of the settings as in tests).

    Settings are per process: while this is open, every app here has that policy.
    """
    try:
        app = create_app(settings.with_overrides(**PRODUCTION_TARGETS))
        yield ApiClient(app.test_client(), tenant.secret)
    finally:
        runtime.configure(settings)


@pytest.fixture
def production_api(settings, connection, tenant):
    with _production(settings, tenant) as client:
        yield client


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://8.8.8.8/hook", "must use https"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://localhost:8443/hook", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("https://10.0.0.7/hook", "private"),
        ("https://100.64.0.9/hook", "not a globally routable"),
        ("https://[::ffff:127.0.0.1]/hook", "IPv4-mapped"),
        ("https://no-such-host.invalid/hook", "does not resolve"),
    ],
)
def test_production_refuses_internal_targets_when_subscribing(production_api, url, reason):
    response = production_api.post("webhook_endpoints", json={"url": url, "event_types": ["*"]})
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["param"], error["code"]) == ("url", "url_not_allowed")
    assert reason in error["message"]


def test_production_refuses_them_when_changing_the_url_too(api, receiver, settings, tenant):
    endpoint = subscribe(api, receiver.url)
    with _production(settings, tenant) as production_api:
        response = production_api.patch(
            f"webhook_endpoints/{endpoint['id']}", json={"url": "https://192.168.0.1/"}
        )
    assert response.status_code == 400 and response.json["error"]["param"] == "url"


def test_every_attempt_checks_the_target_again(api, receiver, settings, clock):
    subscribe(api, receiver.url)  # allowed while the policy was the development one
    api.post("invoices", json=invoice_body())
    strict = Dispatcher(
        settings.with_overrides(**PRODUCTION_TARGETS), clock=clock, rng=random.Random(1)
    )
    try:
        strict.drain()
    finally:
        strict.stop()
    assert receiver.requests == []
    [delivery] = api.get(
        f"webhook_endpoints/{api.get('webhook_endpoints').json['data'][0]['id']}/deliveries"
    ).json["data"]
    assert delivery["status"] == "pending"
    [attempt] = delivery["attempts"]
    assert attempt["status_code"] is None
    assert attempt["error"].startswith("refused: ") and "must use https" in attempt["error"]


def test_an_unknown_event_type_is_refused(api, receiver):
    response = api.post(
        "webhook_endpoints", json={"url": receiver.url, "event_types": ["invoice.exploded"]}
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "unknown_event_type"
    empty = api.post("webhook_endpoints", json={"url": receiver.url, "event_types": []})
    assert empty.status_code == 400 and empty.json["error"]["param"] == "event_types"


def test_a_tenant_may_hold_twenty_endpoints_whatever_others_hold(api, other_api, receiver):
    from payymo.services.webhooks.endpoints import MAX_ENDPOINTS

    for n in range(MAX_ENDPOINTS):
        assert (
            api.post(
                "webhook_endpoints", json={"url": f"{receiver.url}/{n}", "event_types": ["*"]}
            ).status_code
            == 201
        )
    over = api.post("webhook_endpoints", json={"url": receiver.url, "event_types": ["*"]})
    assert over.status_code == 409 and over.json["error"]["code"] == "too_many_endpoints"
    theirs = other_api.post("webhook_endpoints", json={"url": receiver.url, "event_types": ["*"]})
    assert theirs.status_code == 201
