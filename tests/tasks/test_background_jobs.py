"""The embedded default's job queue: a request never waits for the jobs it asks for.

Jobs run on one background thread once the response that asked for them is sent; a
job whose id is already waiting is not queued twice; one failing job does not stop the
next. The end-to-end test runs the real app in that mode on committed data (the suite
otherwise runs in-process jobs inline, as its tests share one connection).
"""

from __future__ import annotations

import logging
import threading

import pytest
from flask.testing import FlaskClient
from werkzeug.test import Client

from payymo import background, runtime
from tests.helpers import ApiClient, invoice_body


@pytest.fixture
def held_worker():
    """The worker busy with a job that waits at a gate: whatever is submitted now waits."""
    gate, started = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        gate.wait(30)

    background.submit(background.Work("gate", None, hold))
    assert started.wait(10)
    yield gate
    gate.set()
    assert background.wait_idle(30)


def _app_submitting(work: background.Work):
    def app(environ, start_response):
        background.submit(work)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"done"]

    return background.after_response(app)


def test_a_requests_job_is_queued_only_once_its_response_is_sent():
    ran: list[str] = []
    client = Client(_app_submitting(background.Work("note", "job_note", lambda: ran.append("x"))))
    response = client.get("/")  # unbuffered: the server has not finished sending it
    assert response.get_data() == b"done"
    assert background.alive_ids() == frozenset() and ran == []
    response.close()
    assert background.wait_idle(10)
    assert ran == ["x"]


def test_the_response_does_not_wait_for_a_slow_job():
    gate, finished = threading.Event(), threading.Event()

    def slow() -> None:
        gate.wait(30)
        finished.set()

    client = Client(_app_submitting(background.Work("slow", "job_slow", slow)))
    response = client.get("/", buffered=True)  # sent and closed: the job is released
    assert response.status_code == 200
    assert "job_slow" in background.alive_ids()
    assert not finished.is_set()  # the response came back while the job still runs
    gate.set()
    assert background.wait_idle(10) and finished.is_set()
    assert background.alive_ids() == frozenset()


def test_a_job_already_waiting_is_not_queued_again(held_worker):
    ran: list[str] = []
    first = background.Work("run", "job_same", lambda: ran.append("first"))
    again = background.Work("run", "job_same", lambda: ran.append("again"))
    other = background.Work("run", "job_other", lambda: ran.append("other"))
    assert background.submit(first) is True
    assert background.submit(again) is False
    assert background.submit(other) is True
    assert background.alive_ids() == {"job_same", "job_other"}
    held_worker.set()
    assert background.wait_idle(10)
    assert ran == ["first", "other"]


def test_a_failing_job_is_logged_and_the_next_one_runs(caplog):
    ran: list[str] = []

    def fail() -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="payymo.background"):
        background.submit(background.Work("tests.fail", "job_fail", fail))
        background.submit(background.Work("tests.next", "job_next", lambda: ran.append("next")))
        assert background.wait_idle(10)
    assert ran == ["next"]
    [record] = [r for r in caplog.records if r.name == "payymo.background"]
    assert (record.job, record.error) == ("tests.fail", "RuntimeError")


@pytest.fixture
def background_mode():
    """The embedded default's jobs as shipped: no Redis, the background thread."""
    shipped = runtime.settings()
    runtime._settings = shipped.with_overrides(redis_url=None, inline_jobs=False)
    runtime.redis_guard.cache_clear()
    try:
        yield
    finally:
        assert background.wait_idle(60)
        runtime._settings = shipped
        runtime.redis_guard.cache_clear()


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_imports_answer_at_once_and_share_one_reconcile_run(
    app, committed_tenant, background_mode, held_worker
):
    _tenant_id, secret = committed_tenant
    # Flask's own client (not the suite's, which waits for jobs after each response).
    api = ApiClient(FlaskClient(app, app.response_class), secret)
    sent = {"buffered": True}  # each response read and closed, as a server sends it
    for external_id, number in (("ERP-1", "INV-1042"), ("ERP-2", "INV-2077")):
        body = invoice_body(external_id, number=number)
        _ok(api.post("invoices", json=body, **sent), 201)
    account = _ok(api.post("bank_accounts", json={"name": "Main", "currency": "EUR"}, **sent), 201)
    imported = []
    for n, number in enumerate(("INV-1042", "INV-2077")):
        line = {
            "id": f"line-{n}",
            "booking_date": "2026-11-20",
            "amount": 12_300,
            "currency": "EUR",
            "counterparty_name": "Initech BV",
            "remittance_information": f"Payment {number}",
        }
        body = {"account_id": account["id"], "transactions": [line]}
        done = _ok(api.post("transactions/import", json=body, **sent))
        imported += [row["id"] for row in done["results"]]

    # Every response came back while the worker was busy: four writes, one queued run.
    [queued] = _ok(api.get("jobs?type=reconcile", **sent))["data"]
    assert queued["status"] == "queued"
    assert [_ok(api.get(f"transactions/{i}", **sent))["match_status"] for i in imported] == [
        "unmatched",
        "unmatched",
    ]

    held_worker.set()
    assert background.wait_idle(60)
    [ran] = _ok(api.get("jobs?type=reconcile", **sent))["data"]
    assert (ran["id"], ran["status"]) == (queued["id"], "succeeded")
    assert [_ok(api.get(f"transactions/{i}", **sent))["match_status"] for i in imported] == [
        "matched",
        "matched",
    ]
