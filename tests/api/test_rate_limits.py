"""Rate limits: per tenant and per key with headers on every authenticated response and
429 + Retry-After past either; bad keys limited per client address."""

from __future__ import annotations

import datetime as dt
import secrets
import time

import pytest
from sqlalchemy import func, select

from payymo import db, runtime
from payymo.db import utcnow
from payymo.models import Invoice
from payymo.services import api_keys as key_service
from payymo.tenancy import system_scope, tenant_scope
from tests.api.conftest import TINY, WINDOW
from tests.helpers import ApiClient, invoice_body


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
def test_counts_live_in_redis_when_configured(app, make_tenant, tiny_plan):
    tiny_plan()
    handle = make_tenant("Redis Tiny", plan="tiny")
    conn = runtime.redis_connection()
    assert conn is not None
    keys_before = set(conn.scan_iter("payymo:rl:*"))
    ApiClient(app.test_client(), handle.secret).get("invoices")
    new_keys = set(conn.scan_iter("payymo:rl:*")) - keys_before
    buckets = {key.decode().rsplit(":", 1)[0]: key for key in new_keys}
    assert set(buckets) == {
        f"payymo:rl:tenant:{handle.tenant_id}",
        f"payymo:rl:key:{handle.key_id}",
    }
    for key in new_keys:
        assert int(conn.get(key)) == 1
        assert 0 < conn.ttl(key) <= WINDOW + 5


def test_in_process_counting_without_redis(app, make_tenant, tiny_plan):
    tiny_plan(redis_url=None)
    assert runtime.redis_connection() is None
    client = ApiClient(app.test_client(), make_tenant("Local Tiny", plan="tiny").secret)
    statuses = [client.get("invoices").status_code for _ in range(TINY + 1)]
    assert statuses == [200] * TINY + [429]


def _another_key(tenant_id: str, **fields) -> tuple[str, str]:
    """A second committed key of the tenant: (id, secret)."""
    with tenant_scope(tenant_id):
        key, secret = key_service.create_key(session=db.session)
        for name, value in fields.items():
            setattr(key, name, value)
        db.session.commit()
    return key.id, secret


def test_the_plan_applies_to_the_tenant_not_to_each_key(app, make_tenant, tiny_plan):
    tiny_plan()
    handle = make_tenant("Two Keys Ltd", plan="tiny")
    first = ApiClient(app.test_client(), handle.secret)
    second = ApiClient(app.test_client(), _another_key(handle.tenant_id)[1])
    seen = [first.get("invoices"), first.get("invoices"), second.get("invoices")]
    assert [r.status_code for r in seen] == [200, 200, 200]
    # The second key's own bucket has 2 left; the tenant's, the tighter, is what is shown.
    assert [_limit_headers(r)[:2] for r in seen] == [(TINY, 2), (TINY, 1), (TINY, 0)]
    third = ApiClient(app.test_client(), _another_key(handle.tenant_id)[1])
    for client in (first, second, third):
        over = client.get("invoices")
        assert over.status_code == 429
        error = over.json["error"]
        assert error["type"] == "rate_limit_error"
        assert "tenant" in error["message"]
        assert 1 <= int(over.headers["Retry-After"]) <= WINDOW
        assert _limit_headers(over)[:2] == (TINY, 0)


BAD = 4


def _address() -> str:
    # Fresh per test: the counts of one address last the whole (hour-long) window.
    return f"2001:db8::{secrets.randbelow(1 << 16):x}:{secrets.randbelow(1 << 16):x}"


def _from(app, address: str, secret: str | None) -> ApiClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return ApiClient(client, secret)


def test_bad_keys_are_limited_per_client_address_before_the_lookup(app, make_tenant, tiny_plan):
    tiny_plan(bad_key_rate_limit=BAD)
    handle = make_tenant("Guarded Ltd")
    _revoked_id, revoked = _another_key(handle.tenant_id, revoked_at=utcnow())
    _expired_id, expired = _another_key(
        handle.tenant_id, expires_at=utcnow() - dt.timedelta(minutes=1)
    )
    address = _address()
    good = _from(app, address, handle.secret)
    # Requests with a good key do not count.
    assert [good.get("invoices").status_code for _ in range(BAD + 1)] == [200] * (BAD + 1)
    bad = [
        _from(app, address, None),
        _from(app, address, "pym_live_" + "x" * 43),
        _from(app, address, revoked),
        _from(app, address, expired),
    ]
    assert [client.get("invoices").status_code for client in bad] == [401] * BAD

    # Past the limit the address is refused before any key is looked up: a good one too.
    for client in (good, *bad):
        refused = client.get("invoices")
        assert refused.status_code == 429, refused.json
        error = refused.json["error"]
        assert error["type"] == "rate_limit_error"
        assert error["code"] == "bad_key_rate_limited"
        assert error["request_id"] == refused.headers["X-Request-Id"]
        assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW

    # Another address is counted on its own.
    other = _address()
    assert _from(app, other, handle.secret).get("invoices").status_code == 200
    assert _from(app, other, None).get("invoices").status_code == 401
