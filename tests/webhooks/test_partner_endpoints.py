"""Partner webhook endpoints: one URL hears the events of every tenant the partner owns."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from standardwebhooks import Webhook

from payymo.models import Event, WebhookDelivery
from payymo.tenancy import system_scope
from tests.helpers import invoice_body
from tests.webhook_receiver import Answer
from tests.webhooks.conftest import subscribe


def _provision(partner, name: str) -> str:
    made = partner.api.post("partner/tenants", json={"name": name, "currency": "EUR"})
    assert made.status_code == 201, made.json
    return made.json["tenant"]["id"]


def _partner_subscribe(partner, url: str, event_types=("*",)) -> dict:
    made = partner.api.post(
        "partner/webhook_endpoints", json={"url": url, "event_types": list(event_types)}
    )
    assert made.status_code == 201, made.json
    return made.json


def _deliveries(partner, endpoint_id: str, **query) -> list[dict]:
    listed = partner.api.get(
        f"partner/webhook_endpoints/{endpoint_id}/deliveries", query_string=query
    )
    assert listed.status_code == 200, listed.json
    return listed.json["data"]


@pytest.fixture
def world(make_partner):
    """Alpha owns two tenants, Beta one; each tenant has one invoice to come."""
    alpha, beta = make_partner("Alpha"), make_partner("Beta")
    return {
        "alpha": alpha,
        "beta": beta,
        "a1": _provision(alpha, "A1"),
        "a2": _provision(alpha, "A2"),
        "b1": _provision(beta, "B1"),
    }


def test_every_owned_tenants_events_reach_the_partner_signed_and_named(world, receiver, dispatcher):
    alpha, beta = world["alpha"], world["beta"]
    endpoint = _partner_subscribe(alpha, receiver.url + "/alpha", ["invoice.created"])
    assert endpoint["id"].startswith("pwe_") and endpoint["secret"].startswith("whsec_")
    own = subscribe(alpha.as_tenant(world["a1"]), receiver.url + "/a1-own", ["*"])
    made = {}
    for key, partner in (("a1", alpha), ("a2", alpha), ("b1", beta)):
        acting = partner.as_tenant(world[key])
        made[key] = acting.post("invoices", json=invoice_body(key)).json
    dispatcher.drain()
    to_alpha = [r for r in receiver.requests if r.path == "/alpha"]
    payloads = {json.loads(r.body)["tenant_id"]: json.loads(r.body) for r in to_alpha}
    assert set(payloads) == {world["a1"], world["a2"]}  # never Beta's tenant
    for key in ("a1", "a2"):
        payload = payloads[world[key]]
        assert payload["event_type"] == "invoice.created"
        assert payload["data"]["object"] == made[key]
        # The same document the tenant's own poller reads.
        assert alpha.as_tenant(world[key]).get(f"events/{payload['id']}").json == payload
    for got in to_alpha:
        assert Webhook(endpoint["secret"]).verify(got.body, got.headers)
    # The tenant's own endpoint still hears its own events only.
    own_got = [json.loads(r.body) for r in receiver.requests if r.path == "/a1-own"]
    assert {p["tenant_id"] for p in own_got} == {world["a1"]}
    assert Webhook(own["secret"]).verify(
        next(r for r in receiver.requests if r.path == "/a1-own").body,
        next(r for r in receiver.requests if r.path == "/a1-own").headers,
    )
    listed = _deliveries(alpha, endpoint["id"])
    assert {d["tenant_id"] for d in listed} == {world["a1"], world["a2"]}
    assert all(d["status"] == "delivered" and d["endpoint_id"] == endpoint["id"] for d in listed)
    [only_a2] = _deliveries(alpha, endpoint["id"], tenant_id=world["a2"])
    assert only_a2["event_id"] == payloads[world["a2"]]["id"]


def test_a_tenant_sees_nothing_of_its_partners_endpoint(world, receiver, dispatcher):
    alpha = world["alpha"]
    endpoint = _partner_subscribe(alpha, receiver.url)
    acting = alpha.as_tenant(world["a1"])
    own = subscribe(acting, receiver.url + "/own", ["invoice.created"])
    acting.post("invoices", json=invoice_body())
    dispatcher.drain()
    assert [e["id"] for e in acting.get("webhook_endpoints").json["data"]] == [own["id"]]
    assert acting.get(f"webhook_endpoints/{endpoint['id']}").status_code == 404
    [mine] = acting.get(f"webhook_endpoints/{own['id']}/deliveries").json["data"]
    assert mine["endpoint_id"] == own["id"]
    assert len(_deliveries(alpha, endpoint["id"])) == 1


def test_manage_an_endpoint_rotate_disable_enable_and_delete(world, receiver, dispatcher, session):
    alpha = world["alpha"]
    endpoint = _partner_subscribe(alpha, receiver.url, ["invoice.*"])
    path = f"partner/webhook_endpoints/{endpoint['id']}"
    assert alpha.api.get(path).json["event_types"] == ["invoice.*"]
    assert [e["id"] for e in alpha.api.get("partner/webhook_endpoints").json["data"]] == [
        endpoint["id"]
    ]
    changed = alpha.api.patch(path, json={"event_types": ["invoice.voided"], "description": "x"})
    assert changed.status_code == 200 and changed.json["event_types"] == ["invoice.voided"]
    rotated = alpha.api.post(f"{path}/rotate_secret")
    assert rotated.status_code == 200 and rotated.json["secret"] != endpoint["secret"]
    # Disabling cancels what is pending in every tenant at once.
    receiver.answer = lambda _r: Answer(500)
    alpha.api.patch(path, json={"event_types": ["*"]})
    for key in ("a1", "a2"):
        alpha.as_tenant(world[key]).post("invoices", json=invoice_body(key))
    dispatcher.drain()
    assert {d["status"] for d in _deliveries(alpha, endpoint["id"])} == {"pending"}
    disabled = alpha.api.patch(path, json={"enabled": False})
    assert disabled.json["enabled"] is False
    statuses = [(d["tenant_id"], d["status"]) for d in _deliveries(alpha, endpoint["id"])]
    assert sorted(statuses) == sorted([(world["a1"], "cancelled"), (world["a2"], "cancelled")])
    refused = alpha.api.post(f"{path}/test", json={})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "endpoint_disabled"
    assert alpha.api.patch(path, json={"enabled": True}).json["enabled"] is True
    gone = alpha.api.delete(path)
    assert gone.status_code == 200 and gone.json == {
        "object": "webhook_endpoint",
        "id": endpoint["id"],
        "deleted": True,
    }
    assert alpha.api.get(path).status_code == 404
    with system_scope():
        left = session.scalar(
            select(func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.partner_endpoint_id == endpoint["id"])
        )
    assert left == 0  # its deliveries in both tenants went with it


def test_a_test_event_is_one_tenants_and_goes_to_that_endpoint_only(world, receiver, dispatcher):
    alpha = world["alpha"]
    endpoint = _partner_subscribe(alpha, receiver.url + "/partner")
    subscribe(alpha.as_tenant(world["a2"]), receiver.url + "/tenant", ["*"])
    sent = alpha.api.post(
        f"partner/webhook_endpoints/{endpoint['id']}/test", json={"tenant_id": world["a2"]}
    )
    assert sent.status_code == 202, sent.json
    assert sent.json["tenant_id"] == world["a2"] and sent.json["event_type"] == "webhook.test"
    dispatcher.drain()
    [got] = receiver.requests
    assert got.path == "/partner"
    assert json.loads(got.body)["tenant_id"] == world["a2"]
    # With no tenant named, the oldest active one is used.
    default = alpha.api.post(f"partner/webhook_endpoints/{endpoint['id']}/test", json={})
    assert default.status_code == 202 and default.json["tenant_id"] == world["a1"]


def test_a_partner_without_tenants_cannot_send_a_test(make_partner, receiver):
    lonely = make_partner("Lonely")
    endpoint = _partner_subscribe(lonely, receiver.url)
    refused = lonely.api.post(f"partner/webhook_endpoints/{endpoint['id']}/test", json={})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "no_tenants"


def test_410_disables_the_partner_endpoint_without_telling_the_tenant(
    world, receiver, dispatcher, session
):
    alpha = world["alpha"]
    receiver.answer = lambda _r: Answer(410)
    endpoint = _partner_subscribe(alpha, receiver.url, ["invoice.created"])
    acting = alpha.as_tenant(world["a1"])
    acting.post("invoices", json=invoice_body())
    dispatcher.drain()
    shown = alpha.api.get(f"partner/webhook_endpoints/{endpoint['id']}").json
    assert shown["enabled"] is False and "410" in shown["disabled_reason"]
    with system_scope():
        types = set(session.scalars(select(Event.type).where(Event.tenant_id == world["a1"])))
    assert "invoice.created" in types and "webhook_endpoint.disabled" not in types


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"url": "ftp://example.com/x", "event_types": ["*"]}, "url"),
        ({"url": "http://127.0.0.1:9/x", "event_types": ["invoice.nope"]}, "event_types"),
        ({"url": "http://127.0.0.1:9/x", "event_types": []}, "event_types"),
        ({"url": "http://127.0.0.1:9/x"}, "event_types"),
        ({"url": "http://127.0.0.1:9/x", "event_types": ["*"], "secret": "mine"}, "secret"),
    ],
)
def test_bad_endpoints_are_refused_in_the_envelope(partner_api, body, param):
    refused = partner_api.post("partner/webhook_endpoints", json=body)
    assert refused.status_code == 400, refused.json
    assert refused.json["error"]["param"] == param
    assert partner_api.get("partner/webhook_endpoints").json["data"] == []


def test_tenant_keys_and_read_scopes_cannot_manage_partner_endpoints(api, partner_api):
    assert api.get("partner/webhook_endpoints").status_code == 403
    hook = {"url": "http://127.0.0.1:9/x", "event_types": ["*"]}
    assert api.post("partner/webhook_endpoints", json=hook).status_code == 403
