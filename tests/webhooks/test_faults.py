"""Faults: a flaky receiver, Redis gone, a tenant's deliveries at scale — nothing lost."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import random
import socket
import threading
from collections import Counter

import pytest

from payymo import create_app, runtime
from payymo.services.webhooks import schedule
from tests.helpers import ApiClient, invoice_body
from tests.webhook_receiver import Answer
from tests.webhooks.conftest import subscribe

EVENTS = 30


def test_a_receiver_failing_30_percent_gets_every_event_on_schedule(
    api, receiver, dispatcher, clock
):
    chance = random.Random(11)
    guard = threading.Lock()

    def flaky(_received):
        with guard:
            roll = chance.random()
        if roll < 0.15:
            return Answer(500, body=b"flaky")
        if roll < 0.30:
            return Answer(200, hang=3)  # past the dispatcher's 2 s timeout
        return Answer(200)

    receiver.answer = flaky
    endpoint = subscribe(api, receiver.url, ["invoice.created"])
    for n in range(EVENTS):
        assert api.post("invoices", json=invoice_body(f"ERP-{n}")).status_code == 201
    for delay in schedule.DELAYS[1:]:
        dispatcher.drain()
        clock.advance(seconds=delay * (1 + schedule.JITTER) + 1)
    dispatcher.drain()
    deliveries = api.get(
        f"webhook_endpoints/{endpoint['id']}/deliveries", query_string={"limit": 100}
    ).json["data"]
    assert len(deliveries) == EVENTS
    assert {d["status"] for d in deliveries} == {"delivered"}
    sent = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert set(sent) == {d["event_id"] for d in deliveries}
    retried = 0
    for delivery in deliveries:
        attempts = delivery["attempts"]
        # Every attempt that reached the receiver is logged, and only those.
        assert len(attempts) == delivery["attempt_count"] == sent[delivery["event_id"]]
        assert attempts[-1]["status_code"] == 200 and attempts[-1]["error"] is None
        for failed in attempts[:-1]:
            assert failed["status_code"] == 500 or "no answer within" in failed["error"]
        times = [dt.datetime.fromisoformat(a["attempted_at"]) for a in attempts]
        for number, (before, after) in enumerate(itertools.pairwise(times), 1):
            assert after - before >= dt.timedelta(seconds=schedule.DELAYS[number])
        retried += len(attempts) > 1
    assert retried >= 3, "the seed should make several deliveries retry"
    payloads = {json.loads(r.body)["id"] for r in receiver.requests}
    assert len(payloads) == EVENTS


@pytest.mark.redis
def test_events_written_while_redis_is_down_are_delivered(
    settings, connection, make_tenant, receiver, dispatcher
):
    """Delivery reads the database alone: an app whose Redis refuses still gets them out."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    try:
        app = create_app(settings.with_overrides(redis_url=f"redis://127.0.0.1:{closed}/0"))
        api = ApiClient(app.test_client(), make_tenant("Redisless Ltd").secret)
        subscribe(api, receiver.url, ["invoice.created"])
        assert api.post("invoices", json=invoice_body("while-down")).status_code == 201
    finally:
        runtime.configure(settings)
    dispatcher.drain()
    [got] = receiver.requests
    assert json.loads(got.body)["data"]["object"]["external_id"] == "while-down"


def test_a_slow_receiver_with_a_backlog_does_not_hold_up_other_tenants(
    api, other_api, receiver, dispatcher
):
    # Each slow answer takes 1 s: the slow endpoint has its eight slots busy, answered one
    # by one, while the other tenant's delivery goes out beside them. Counted by the
    # receiver (requests at once), not by arrival times, which a loaded machine spreads.
    receiver.answer = lambda r: Answer(200, hang=1.0 if r.path == "/slow" else 0)
    subscribe(api, receiver.url + "/slow", ["invoice.created"])
    for n in range(40):  # more than the dispatcher's 32 slots
        api.post("invoices", json=invoice_body(f"SLOW-{n}"))
    subscribe(other_api, receiver.url + "/quick", ["invoice.created"])
    other_api.post("invoices", json=invoice_body("QUICK"))
    dispatcher.drain()
    slow = sorted(r.at for r in receiver.requests if r.path == "/slow")
    [quick] = [r.at for r in receiver.requests if r.path == "/quick"]
    assert len(slow) == 40
    assert receiver.peak["/slow"] == dispatcher.per_endpoint == 8
    # The other tenant went out with the first wave, not after the slow one's backlog:
    # the ninth slow request waited for one of the first eight to be answered.
    assert quick < slow[dispatcher.per_endpoint]


def test_an_endpoint_earns_every_slot_by_answering_fast(dispatcher):
    from integrations.webhooks.sender import Outcome
    from payymo.services.webhooks.dispatch import Job, Result

    def result(endpoint_id: str, took_ms: int) -> Result:
        job = Job("del_1", "ten_1", endpoint_id, "evt_1", "http://x", b"{}", ("s",))
        return Result(job, Outcome(200, took_ms, ""), clock_now)

    clock_now = None
    assert dispatcher.cap("we_new") == dispatcher.per_endpoint < dispatcher.concurrency
    dispatcher._learn([result("we_fast", 20) for _ in range(3)])
    dispatcher._learn([result("we_slow", 4000)])
    assert dispatcher.cap("we_fast") == dispatcher.concurrency
    assert dispatcher.cap("we_slow") == dispatcher.per_endpoint
    dispatcher._learn([result("we_fast", 10_000) for _ in range(5)])  # it slowed down
    assert dispatcher.cap("we_fast") == dispatcher.per_endpoint
