"""Delivery end to end: API change → event → dispatcher → signed POST to a real receiver."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select
from standardwebhooks import Webhook

from payymo.models import WebhookDelivery, WebhookEndpoint
from payymo.services.webhooks import schedule
from payymo.tenancy import system_scope
from tests.helpers import invoice_body
from tests.webhook_receiver import Answer
from tests.webhooks.conftest import subscribe


def _deliveries(api, endpoint_id: str, **query) -> list[dict]:
    response = api.get(f"webhook_endpoints/{endpoint_id}/deliveries", query_string=query)
    assert response.status_code == 200
    return response.json["data"]


def test_an_invoice_event_reaches_the_receiver_signed_and_equal_to_the_events_api(
    api, receiver, dispatcher
):
    endpoint = subscribe(api, receiver.url + "/hook", ["invoice.created"])
    invoice = api.post("invoices", json=invoice_body()).json
    dispatcher.drain()
    [got] = receiver.requests
    payload = json.loads(got.body)
    assert payload["event_type"] == "invoice.created"
    assert payload["data"]["object"] == invoice
    assert api.get(f"events/{payload['id']}").json == payload
    assert got.headers["webhook-id"] == payload["id"]
    assert Webhook(endpoint["secret"]).verify(got.body, got.headers) == payload
    [delivery] = _deliveries(api, endpoint["id"])
    assert delivery["status"] == "delivered" and delivery["event_id"] == payload["id"]
    assert [a["status_code"] for a in delivery["attempts"]] == [200]


def test_only_subscribed_types_are_delivered(api, receiver, dispatcher):
    subscribe(api, receiver.url, ["invoice.voided"])
    invoice = api.post("invoices", json=invoice_body()).json
    api.post(f"invoices/{invoice['id']}/void")
    dispatcher.drain()
    assert [json.loads(r.body)["event_type"] for r in receiver.requests] == ["invoice.voided"]


def test_prefix_subscription_and_events_before_subscribing_are_not_sent(api, receiver, dispatcher):
    api.post("invoices", json=invoice_body("before"))
    dispatcher.drain()
    subscribe(api, receiver.url, ["invoice.*"])
    api.post("invoices", json=invoice_body("after"))
    dispatcher.drain()
    [got] = receiver.requests
    assert json.loads(got.body)["data"]["object"]["external_id"] == "after"


def test_failures_follow_the_schedule_then_succeed(api, receiver, dispatcher, clock):
    answers = iter([500, 503, 200])
    receiver.answer = lambda _r: Answer(next(answers))
    endpoint = subscribe(api, receiver.url)
    api.post("invoices", json=invoice_body())
    dispatcher.drain()
    [first] = _deliveries(api, endpoint["id"])
    assert first["status"] == "pending" and first["attempt_count"] == 1
    due = dt.datetime.fromisoformat(first["next_attempt_at"]) - clock.now
    assert dt.timedelta(seconds=5) <= due <= dt.timedelta(seconds=6)
    clock.advance(seconds=4)
    dispatcher.drain()
    assert len(receiver.requests) == 1  # not yet due
    clock.advance(seconds=2.5)
    dispatcher.drain()
    [second] = _deliveries(api, endpoint["id"])
    due = dt.datetime.fromisoformat(second["next_attempt_at"]) - clock.now
    assert dt.timedelta(minutes=5) <= due <= dt.timedelta(minutes=6)
    clock.advance(minutes=6)
    dispatcher.drain()
    [done] = _deliveries(api, endpoint["id"])
    assert done["status"] == "delivered" and done["next_attempt_at"] is None
    assert [a["status_code"] for a in done["attempts"]] == [500, 503, 200]
    assert all(a["duration_ms"] >= 0 for a in done["attempts"])
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(ids) == 1  # the same event every time


def test_attempts_run_out_and_the_delivery_fails(api, receiver, dispatcher, clock):
    receiver.answer = lambda _r: Answer(500, body=b"boom")
    endpoint = subscribe(api, receiver.url)
    api.post("invoices", json=invoice_body())
    # Each wait is the longest the jitter allows; the whole schedule fits in 3 days.
    for delay in (*schedule.DELAYS[1:], 0):
        dispatcher.drain()
        clock.advance(seconds=delay * (1 + schedule.JITTER) + 1)
    [delivery] = _deliveries(api, endpoint["id"])
    assert delivery["status"] == "failed"
    assert delivery["attempt_count"] == schedule.ATTEMPTS == 8
    assert delivery["attempts"][-1]["response_excerpt"] == "boom"
    assert delivery["last_error"] == "the receiver answered HTTP 500"
    assert len(receiver.requests) == 8


def test_retry_after_is_honoured(api, receiver, dispatcher, clock):
    answers = iter([Answer(429, headers={"Retry-After": "900"}), Answer(200)])
    receiver.answer = lambda _r: next(answers)
    endpoint = subscribe(api, receiver.url)
    api.post("invoices", json=invoice_body())
    dispatcher.drain()
    [delivery] = _deliveries(api, endpoint["id"])
    due = dt.datetime.fromisoformat(delivery["next_attempt_at"]) - clock.now
    assert dt.timedelta(seconds=900) <= due < dt.timedelta(seconds=901)


def test_410_disables_the_endpoint_and_tells_the_tenant(api, receiver, dispatcher):
    receiver.answer = lambda _r: Answer(410)
    endpoint = subscribe(api, receiver.url)
    other = subscribe(api, receiver.url + "/other", ["webhook_endpoint.disabled"])
    receiver.answer = lambda r: Answer(200 if r.path == "/other" else 410)
    api.post("invoices", json=invoice_body())
    dispatcher.drain()
    found = api.get(f"webhook_endpoints/{endpoint['id']}").json
    assert found["enabled"] is False
    assert found["disabled_reason"] == "the receiver answered 410 Gone"
    [delivery] = _deliveries(api, endpoint["id"])
    assert delivery["status"] == "failed"
    events = api.get("events", query_string={"event_type": "webhook_endpoint.disabled"}).json
    assert [e["data"]["object"]["id"] for e in events["data"]] == [endpoint["id"]]
    told = [json.loads(r.body) for r in receiver.requests if r.path == "/other"]
    assert [t["event_type"] for t in told] == ["webhook_endpoint.disabled"]
    assert told[0]["data"]["object"]["id"] == endpoint["id"] != other["id"]


def test_an_endpoint_failing_for_three_days_is_disabled(api, receiver, dispatcher, clock):
    receiver.answer = lambda _r: Answer(500)
    endpoint = subscribe(api, receiver.url)
    for n in range(4):
        api.post("invoices", json=invoice_body(f"ERP-{n}"))
        dispatcher.drain()
        clock.advance(days=1, minutes=1)
    found = api.get(f"webhook_endpoints/{endpoint['id']}").json
    assert found["enabled"] is False
    assert found["disabled_reason"].startswith("every delivery failed since")
    pending = _deliveries(api, endpoint["id"], status="pending")
    assert pending == []  # cancelled with the endpoint


def test_a_dead_dispatchers_lease_lapses_and_the_same_event_is_sent_again(
    api, receiver, dispatcher, clock, session
):
    from payymo.services.webhooks import dispatch

    endpoint = subscribe(api, receiver.url)
    api.post("invoices", json=invoice_body())
    with system_scope():
        dispatch.fan_out(session=session, now=clock.now)
        [claimed] = dispatch.claim(session=session, now=clock.now, limit=10)
        session.commit()
    # That dispatcher dies here, before sending or recording anything.
    dispatcher.drain()
    assert receiver.requests == []  # still leased
    clock.advance(seconds=61)
    dispatcher.drain()
    [got] = receiver.requests
    assert got.headers["webhook-id"] == claimed.event_id
    [delivery] = _deliveries(api, endpoint["id"])
    assert delivery["status"] == "delivered"


def test_a_tenant_never_receives_another_tenants_events(api, other_api, receiver, dispatcher):
    subscribe(api, receiver.url + "/mine")
    subscribe(other_api, receiver.url + "/theirs")
    api.post("invoices", json=invoice_body("A"))
    other_api.post("invoices", json=invoice_body("B"))
    dispatcher.drain()
    by_path = {r.path: json.loads(r.body) for r in receiver.requests}
    assert by_path["/mine"]["data"]["object"]["external_id"] == "A"
    assert by_path["/theirs"]["data"]["object"]["external_id"] == "B"
    assert by_path["/mine"]["tenant_id"] != by_path["/theirs"]["tenant_id"]
    assert len(receiver.requests) == 2


def test_disabled_endpoints_get_nothing_and_reenabling_resumes(api, receiver, dispatcher):
    endpoint = subscribe(api, receiver.url)
    api.patch(f"webhook_endpoints/{endpoint['id']}", json={"enabled": False})
    api.post("invoices", json=invoice_body("A"))
    dispatcher.drain()
    assert receiver.requests == []
    api.patch(f"webhook_endpoints/{endpoint['id']}", json={"enabled": True})
    api.post("invoices", json=invoice_body("B"))
    dispatcher.drain()
    [got] = receiver.requests
    assert json.loads(got.body)["data"]["object"]["external_id"] == "B"


def test_redeliver_sends_an_event_again_with_the_same_id(api, receiver, dispatcher):
    endpoint = subscribe(api, receiver.url)
    api.post("invoices", json=invoice_body())
    dispatcher.drain()
    event_id = receiver.requests[0].headers["webhook-id"]
    response = api.post(f"events/{event_id}/redeliver", json={"endpoint_id": endpoint["id"]})
    assert response.status_code == 202
    assert [d["status"] for d in response.json["data"]] == ["pending"]
    dispatcher.drain()
    assert [r.headers["webhook-id"] for r in receiver.requests] == [event_id, event_id]
    [delivery] = _deliveries(api, endpoint["id"])
    assert delivery["attempt_count"] == 2 and delivery["status"] == "delivered"


def test_test_event_goes_to_that_endpoint_only(api, receiver, dispatcher):
    endpoint = subscribe(api, receiver.url + "/a", ["invoice.paid"])
    subscribe(api, receiver.url + "/b")
    response = api.post(f"webhook_endpoints/{endpoint['id']}/test")
    assert response.status_code == 202
    assert response.json["event_type"] == "webhook.test"
    dispatcher.drain()
    [got] = receiver.requests
    assert got.path == "/a"
    payload = json.loads(got.body)
    assert payload["event_type"] == "webhook.test"
    assert payload["data"]["object"]["id"] == endpoint["id"]


def test_rotation_signs_with_both_secrets_for_a_day(api, receiver, dispatcher, clock):
    endpoint = subscribe(api, receiver.url)
    rotated = api.post(f"webhook_endpoints/{endpoint['id']}/rotate_secret").json
    assert rotated["secret"] != endpoint["secret"]
    assert rotated["previous_secret_expires_at"] is not None
    api.post("invoices", json=invoice_body())
    dispatcher.drain()
    got = receiver.requests[0]
    for secret in (endpoint["secret"], rotated["secret"]):
        Webhook(secret).verify(got.body, got.headers)
    assert got.headers["x-webhook-signature"].count("v1=") == 2


def test_secrets_are_encrypted_at_rest(api, receiver, session):
    endpoint = subscribe(api, receiver.url)
    with system_scope():
        stored = session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint["id"])
        ).one()
    assert endpoint["secret"] not in stored.secret
    assert "secret" not in api.get(f"webhook_endpoints/{endpoint['id']}").json


def test_deleting_an_endpoint_removes_its_deliveries(api, receiver, dispatcher, session):
    endpoint = subscribe(api, receiver.url)
    api.post("invoices", json=invoice_body())
    dispatcher.drain()
    response = api.delete(f"webhook_endpoints/{endpoint['id']}")
    assert response.status_code == 200 and response.json["deleted"] is True
    assert api.get(f"webhook_endpoints/{endpoint['id']}").status_code == 404
    with system_scope():
        left = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint["id"])
        ).all()
    assert left == []


def test_finished_history_older_than_30_days_is_purged(api, receiver, dispatcher, clock, session):
    from payymo.models import WebhookAttempt
    from payymo.services.webhooks import retention

    endpoint = subscribe(api, receiver.url)
    api.post("invoices", json=invoice_body("old"))
    dispatcher.drain()
    receiver.answer = lambda _r: Answer(500)
    api.post("invoices", json=invoice_body("still-retrying"))
    dispatcher.drain()
    assert len(_deliveries(api, endpoint["id"])) == 2
    clock.advance(days=29)
    assert dispatcher.purge() == 0
    clock.advance(days=2)
    assert dispatcher.purge() == 1
    [left] = _deliveries(api, endpoint["id"])
    assert left["status"] == "pending"  # never purged while it is owed
    with system_scope():
        attempts = session.scalars(select(WebhookAttempt.delivery_id)).all()
    assert set(attempts) == {left["id"]}
    assert dt.timedelta(days=30) == retention.KEEP
