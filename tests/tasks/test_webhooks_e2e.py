"""Webhooks sent by real processes: ``payymo worker``'s dispatcher and embedded ``payymo serve``.

Committed data (the savepoint fixtures are invisible to another process); the tenants
are deleted afterwards.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
import requests
from sqlalchemy import select

from payymo.api.invoices.schemas import InvoiceCreate
from payymo.models import WebhookDelivery
from payymo.services import api_keys, invoices
from payymo.services import tenants as tenant_service
from payymo.services.webhooks import endpoints
from payymo.tenancy import tenant_scope
from tests.helpers import invoice_body
from tests.tasks.processes import PAYYMO, ROOT, free_port, payymo_env
from tests.webhook_receiver import Receiver

DEADLINE = 60


@pytest.fixture
def receiver():
    found = Receiver().start()
    yield found
    found.stop()


def _tenant(sessions, name: str) -> str:
    with sessions() as session:
        tenant = tenant_service.create_tenant(session=session, name=name)
        session.commit()
    sessions.created.append(tenant.id)
    return tenant.id


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def _log(path) -> str:
    return path.read_text()[-3000:]


def _delivered(sessions, tenant_id: str) -> list[str]:
    with sessions() as session, tenant_scope(tenant_id):
        rows = session.scalars(select(WebhookDelivery.status)).all()
        session.commit()
        return list(rows)


@pytest.mark.redis
@pytest.mark.postgres
def test_payymo_worker_runs_a_dispatcher_that_delivers(settings, sessions, receiver, tmp_path):
    tenant_id = _tenant(sessions, "Worker Hooks Ltd")
    with sessions() as session, tenant_scope(tenant_id):
        endpoints.create_endpoint(
            session=session, url=receiver.url, event_types=["invoice.created"]
        )
        session.commit()
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [PAYYMO, "worker"],
            cwd=ROOT,
            env=payymo_env(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        with sessions() as session, tenant_scope(tenant_id):
            data = InvoiceCreate().load(invoice_body("WORKER-1"))
            invoices.create_invoice(session=session, data=data)
            session.commit()
        [got] = receiver.wait_for(1, timeout=DEADLINE) or [None]
        assert got is not None, _log(log_path)
        assert json.loads(got.body)["data"]["object"]["external_id"] == "WORKER-1"
        deadline = time.monotonic() + DEADLINE
        while _delivered(sessions, tenant_id) != ["delivered"]:
            assert time.monotonic() < deadline, _log(log_path)
            time.sleep(0.1)
    finally:
        assert _stop(proc) == 0, _log(log_path)


@pytest.mark.postgres
def test_embedded_serve_delivers_webhooks_in_process(settings, sessions, receiver, tmp_path):
    tenant_id = _tenant(sessions, "Embedded Hooks Ltd")
    with sessions() as session, tenant_scope(tenant_id):
        _key, secret = api_keys.create_key(session=session, name="e2e")
        session.commit()
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [PAYYMO, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=payymo_env(settings, PAYYMO_ENV="development", PAYYMO_REDIS_URL=None),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"X-API-Key": secret}
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, _log(log_path)
                time.sleep(0.1)
        created = requests.post(
            f"{base}/webhook_endpoints",
            json={"url": receiver.url + "/local", "event_types": ["invoice.*"]},
            headers=headers,
            timeout=10,
        )
        assert created.status_code == 201, created.text
        answer = requests.post(
            f"{base}/invoices", json=invoice_body("SERVE-1"), headers=headers, timeout=10
        )
        assert answer.status_code == 201, answer.text
        [got] = receiver.wait_for(1, timeout=DEADLINE)
        assert got.path == "/local"
        assert json.loads(got.body)["data"]["object"]["id"] == answer.json()["id"]
    finally:
        _stop(proc)


@pytest.mark.postgres
def test_two_dispatchers_share_the_work_and_never_send_an_event_twice(settings, sessions, receiver):
    from collections import Counter

    from payymo import events
    from tasks.webhooks import Dispatcher

    tenant_id = _tenant(sessions, "Two Dispatchers Ltd")
    with sessions() as session, tenant_scope(tenant_id):
        endpoints.create_endpoint(session=session, url=receiver.url, event_types=["*"])
        session.commit()
    first, second = Dispatcher(settings).start(), Dispatcher(settings).start()
    try:
        for batch in range(10):
            with sessions() as session, tenant_scope(tenant_id):
                for n in range(30):
                    events.emit(session, "invoice.created", {"object": {"n": batch * 30 + n}})
                session.commit()
        receiver.wait_for(300, timeout=DEADLINE)
        deadline = time.monotonic() + DEADLINE
        while first.sent["attempts"] + second.sent["attempts"] < 300:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        first.stop()
        second.stop()
    sent = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert len(sent) == 300 and set(sent.values()) == {1}
    assert first.sent["delivered"] + second.sent["delivered"] == 300
    assert _delivered(sessions, tenant_id) == ["delivered"] * 300


@pytest.mark.postgres
def test_a_dispatcher_killed_mid_delivery_is_replaced_and_the_same_event_is_sent(
    settings, sessions, receiver, tmp_path
):
    import datetime as dt

    from payymo.db import utcnow
    from payymo.services.webhooks.dispatch import LEASE
    from tasks.webhooks import Dispatcher
    from tests.webhook_receiver import Answer

    arrivals = []
    receiver.answer = lambda r: (
        arrivals.append(r) or Answer(200, hang=30 if len(arrivals) == 1 else 0)
    )
    tenant_id = _tenant(sessions, "Killed Dispatcher Ltd")
    with sessions() as session, tenant_scope(tenant_id):
        endpoints.create_endpoint(session=session, url=receiver.url, event_types=["*"])
        data = InvoiceCreate().load(invoice_body("KILLED-1"))
        invoices.create_invoice(session=session, data=data)
        session.commit()
    log_path = tmp_path / "dispatch.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [PAYYMO, "webhooks", "dispatch"],
            cwd=ROOT,
            env=payymo_env(settings, PAYYMO_REDIS_URL=None),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        [first] = receiver.wait_for(1, timeout=DEADLINE)
    finally:
        proc.kill()  # mid-delivery: the receiver has not answered yet
        proc.wait()
    assert _delivered(sessions, tenant_id) == ["pending"]
    later = Dispatcher(settings, clock=lambda: utcnow() + LEASE + dt.timedelta(seconds=1))
    try:
        later.drain()
    finally:
        later.stop()
    second = receiver.requests[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    assert second.body == first.body
    assert _delivered(sessions, tenant_id) == ["delivered"]
