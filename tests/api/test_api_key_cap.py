"""Active API keys per tenant are capped; the count is taken under the tenant row's lock."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import delete, func, or_, select, text
from sqlalchemy.orm import Session

from payymo import db, runtime
from payymo.db import utcnow
from payymo.errors import Conflict
from payymo.models import ApiKey, Tenant
from payymo.services import api_keys as key_service
from payymo.services import tenants as tenant_service
from payymo.tenancy import tenant_scope


@pytest.fixture
def cap(settings):
    """Install a cap of ``n`` active keys per tenant; the suite's settings come back after."""

    def install(n: int) -> None:
        runtime.configure(settings.with_overrides(max_api_keys_per_tenant=n))

    try:
        yield install
    finally:
        runtime.configure(settings)


def _create(api, **body):
    body.setdefault("scopes", ["invoices:read"])
    return api.post("api_keys", json=body)


def _assert_at_cap(response, cap: int) -> None:
    assert response.status_code == 409, response.json
    error = response.json["error"]
    assert error["type"] == "conflict"
    assert error["code"] == "api_key_limit"
    assert f"{cap} active API keys" in error["message"]
    assert "Revoke" in error["message"]  # says how to free one


def test_the_default_cap_is_50(settings):
    assert settings.max_api_keys_per_tenant == 50


def test_creating_past_the_cap_is_a_conflict_until_a_key_is_revoked(api, cap):
    cap(3)  # the tenant's first key and two more
    ids = [_create(api).json["id"] for _ in range(2)]
    _assert_at_cap(_create(api), 3)
    assert api.delete(f"api_keys/{ids[0]}").status_code == 200
    assert _create(api).status_code == 201
    _assert_at_cap(_create(api), 3)


def test_expired_and_revoked_keys_do_not_count(api, cap, tenant, session):
    cap(2)
    expiring = _create(api).json["id"]
    _assert_at_cap(_create(api), 2)
    with tenant_scope(tenant.tenant_id):
        session.get_one(ApiKey, expiring).expires_at = utcnow() - dt.timedelta(seconds=1)
        session.commit()
    revoked = _create(api)
    assert revoked.status_code == 201
    assert api.delete(f"api_keys/{revoked.json['id']}").status_code == 200
    assert _create(api).status_code == 201
    _assert_at_cap(_create(api), 2)


def test_rolling_at_the_cap_needs_the_old_key_retired_at_once(api, cap):
    cap(2)
    second = _create(api).json["id"]
    # With a grace period the old key stays active beside the new one: one too many.
    _assert_at_cap(api.post(f"api_keys/{second}/roll", json={"expires_in_hours": 24}), 2)
    rolled = api.post(f"api_keys/{second}/roll", json={"expires_in_hours": 0})
    assert rolled.status_code == 201, rolled.json
    assert api.get(f"api_keys/{second}").json["status"] == "revoked"


def test_the_cap_is_per_tenant(api, other_api, cap):
    cap(2)
    assert _create(api).status_code == 201
    _assert_at_cap(_create(api), 2)
    assert _create(other_api).status_code == 201


# --- two concurrent creates: real commits on two connections, so no savepoint fixture ---


@pytest.fixture
def committed_tenant(app):
    """A tenant with one key committed on the real engine; deleted (cascade) afterwards."""
    engine = db.engine()
    with Session(engine) as session:
        tenant = tenant_service.create_tenant(session=session, name="Cap Race Ltd")
        with tenant_scope(tenant.id):
            key_service.create_key(session=session)
            session.commit()
        tenant_id = tenant.id
    try:
        yield tenant_id
    finally:
        with Session(engine) as session:
            session.execute(delete(Tenant).where(Tenant.id == tenant_id))
            session.commit()


def _wait_until_waiting_on_a_lock(pid: int) -> None:
    """Return once backend ``pid`` is blocked on a lock (a fresh snapshot each look)."""
    deadline = time.monotonic() + 10
    watcher = db.engine().connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        query = text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid")
        while watcher.scalar(query, {"pid": pid}) != "Lock":
            assert time.monotonic() < deadline, "the second create never waited on the lock"
    finally:
        watcher.close()


def _active_keys(tenant_id: str) -> int:
    now = utcnow()
    with Session(db.engine()) as session, tenant_scope(tenant_id):
        return session.scalar(
            select(func.count(ApiKey.id)).where(
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
        )


@pytest.mark.postgres
def test_two_concurrent_creates_cannot_pass_the_cap(committed_tenant, cap):
    cap(2)  # the tenant has one key: exactly one more fits
    engine = db.engine()
    first, second = Session(engine), Session(engine)
    outcome: dict[str, object] = {}

    def create_second() -> None:
        try:
            with tenant_scope(committed_tenant):
                outcome["key"] = key_service.create_key(session=second)
                second.commit()
        except Exception as exc:
            outcome["error"] = exc
            second.rollback()

    try:
        with tenant_scope(committed_tenant):
            key_service.create_key(session=first)  # counted 1, holds the lock, not committed
        second_pid = second.scalar(text("SELECT pg_backend_pid()"))
        racer = threading.Thread(target=create_second)
        racer.start()
        _wait_until_waiting_on_a_lock(second_pid)
        first.commit()
        racer.join(timeout=30)
        assert not racer.is_alive()
    finally:
        first.close()
        second.close()
    error = outcome.get("error")
    assert isinstance(error, Conflict), outcome
    assert error.code == "api_key_limit"
    assert _active_keys(committed_tenant) == 2
