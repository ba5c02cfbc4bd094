"""Per-key rate limits: headers on every authenticated response, 429 + Retry-After past it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from payymo import runtime
from payymo.models import Invoice
from payymo.tenancy import system_scope
from tests.helpers import ApiClient, invoice_body

TINY = 3
WINDOW = 3600


@pytest.fixture
def tiny_plan(settings):
    """Settings with a 3-requests-per-hour plan "tiny"; restored afterwards."""

    def install(**overrides):
        runtime.configure(
            settings.with_overrides(
                plan_rate_limits={**settings.plan_rate_limits, "tiny": TINY},
                rate_limit_window_seconds=WINDOW,
                **overrides,
            )
        )
        # Do not start a run of requests just before the window turns over.
        left = WINDOW - time.time() % WINDOW
        if left < 5:
            time.sleep(left + 0.1)

    try:
        yield install
    finally:
        runtime.configure(settings)


@pytest.fixture
def tiny(app, make_tenant, tiny_plan):
    tiny_plan()
    handle = make_tenant("Tiny Ltd", plan="tiny")
    return ApiClient(app.test_client(), handle.secret)


def _limit_headers(response) -> tuple[int, int, int]:
    return (
        int(response.headers["X-RateLimit-Limit"]),
        int(response.headers["X-RateLimit-Remaining"]),
        int(response.headers["X-RateLimit-Reset"]),
    )


def test_headers_count_down_then_429_with_retry_after(tiny):
    seen = [_limit_headers(tiny.get("invoices")) for _ in range(TINY)]
    assert [s[0] for s in seen] == [TINY] * TINY
    assert [s[1] for s in seen] == [2, 1, 0]
    reset = seen[0][2]
    assert all(s[2] == reset for s in seen)
    assert time.time() < reset <= time.time() + WINDOW + 1

    over = tiny.get("invoices")
    assert over.status_code == 429
    error = over.json["error"]
    assert error["type"] == "rate_limit_error"
    assert error["request_id"] == over.headers["X-Request-Id"]
    retry_after = int(over.headers["Retry-After"])
    assert 1 <= retry_after <= WINDOW
    assert _limit_headers(over)[:2] == (TINY, 0)


def test_a_limited_request_leaves_no_invoice(tiny, session):
    for _ in range(TINY):
        tiny.get("invoices")
    assert tiny.post("invoices", json=invoice_body()).status_code == 429
    with system_scope():
        assert session.scalar(select(func.count()).select_from(Invoice)) == 0


def test_headers_are_on_error_responses_too(tiny):
    not_found = tiny.get("invoices/inv_00000000000000000000000000")
    assert not_found.status_code == 404
    bad = tiny.post("invoices", json=invoice_body(amount_due=1.5))
    assert bad.status_code == 400
    assert _limit_headers(not_found)[:2] == (TINY, 2)
    assert _limit_headers(bad)[:2] == (TINY, 1)


def test_limits_are_per_key(app, tiny, make_tenant):
    for _ in range(TINY + 1):
        tiny.get("invoices")
    assert tiny.get("invoices").status_code == 429
    other = ApiClient(app.test_client(), make_tenant("Other Tiny", plan="tiny").secret)
    fresh = other.get("invoices")
    assert fresh.status_code == 200
    assert _limit_headers(fresh)[:2] == (TINY, 2)


def test_the_plan_decides_the_limit(api):
    response = api.get("invoices")
    assert response.status_code == 200
    limit, remaining, _ = _limit_headers(response)
    assert limit == runtime.settings().plan_rate_limits["standard"]
    assert remaining == limit - 1


def test_unauthenticated_and_public_responses_carry_no_limit_headers(app, connection):
    client = app.test_client()
    assert "X-RateLimit-Limit" not in client.get("/api/v1/invoices").headers
    assert "X-RateLimit-Limit" not in client.get("/healthz").headers


@pytest.mark.redis
def test_counts_live_in_redis_when_configured(tiny):
    conn = runtime.redis_connection()
    assert conn is not None
    keys_before = set(conn.scan_iter("payymo:rl:*"))
    tiny.get("invoices")
    new_keys = set(conn.scan_iter("payymo:rl:*")) - keys_before
    assert len(new_keys) == 1
    key = new_keys.pop()
    assert int(conn.get(key)) == 1
    assert 0 < conn.ttl(key) <= WINDOW + 5


def test_in_process_counting_without_redis(app, make_tenant, tiny_plan):
    tiny_plan(redis_url=None)
    assert runtime.redis_connection() is None
    client = ApiClient(app.test_client(), make_tenant("Local Tiny", plan="tiny").secret)
    statuses = [client.get("invoices").status_code for _ in range(TINY + 1)]
    assert statuses == [200] * TINY + [429]
