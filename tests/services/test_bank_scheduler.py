"""The bank sync scheduler's pass, the one-sync-at-a-time lock, and the token stores."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from payymo import db
from payymo.db import utcnow
from payymo.models import BankConnection, Job, ProviderToken
from payymo.services.banking import scheduler
from payymo.services.banking.sync_lock import try_sync_lock
from payymo.services.banking.token_store import DatabaseTokenStore, RedisTokenStore
from payymo.tenancy import system_scope, tenant_scope
from tests.banking import connect, sync


def _set(session, tenant, connection_id, **values):
    with tenant_scope(tenant.tenant_id):
        conn = session.get(BankConnection, connection_id)
        for name, value in values.items():
            setattr(conn, name, value)
        session.commit()


def _visit(session, tenant, connection_id, now):
    with system_scope():
        due = scheduler.due(session=session, now=now)
        session.commit()
    if (tenant.tenant_id, connection_id) not in due:
        return None
    with tenant_scope(tenant.tenant_id):
        outcome = scheduler.visit(session=session, connection_id=connection_id, now=now)
        session.commit()
        return outcome


def _events(api, event_type):
    return api.get(f"events?type={event_type}").json["data"]


def test_a_due_connection_gets_one_sync_job_and_a_waiting_one_none(
    api, app, tenant, session, gocardless
):
    created, _ = connect(api, app)
    now = utcnow()
    _set(session, tenant, created["id"], next_sync_at=now + dt.timedelta(hours=2))
    assert _visit(session, tenant, created["id"], now) is None
    _set(session, tenant, created["id"], next_sync_at=now - dt.timedelta(minutes=1))
    before = len(api.get("jobs?type=bank_sync").json["data"])
    assert _visit(session, tenant, created["id"], now) == "sync_requested"
    jobs = api.get("jobs?type=bank_sync").json["data"]
    # Coalesced: the job the callback queued (still queued here) is the one, or one more.
    assert len(jobs) in (before, before + 1)
    assert api.get(f"bank_connections/{created['id']}").json["next_sync_at"] > now.isoformat()


def test_seven_days_before_expiry_one_expiring_event_then_expired_when_it_passes(
    api, app, tenant, session, gocardless
):
    created, _ = connect(api, app)
    now = utcnow()
    far = now + dt.timedelta(hours=6)
    _set(
        session,
        tenant,
        created["id"],
        access_expires_at=now + dt.timedelta(days=6),
        next_sync_at=far,
    )
    assert _visit(session, tenant, created["id"], now) == "expiring"
    assert _visit(session, tenant, created["id"], now) is None  # said once
    assert len(_events(api, "bank_connection.expiring")) == 1
    later = now + dt.timedelta(days=7)
    assert _visit(session, tenant, created["id"], later) == "expired"
    conn = api.get(f"bank_connections/{created['id']}").json
    assert (conn["status"], conn["next_sync_at"]) == ("expired", None)
    assert len(_events(api, "bank_connection.expired")) == 1


def test_a_suspended_tenants_connections_are_not_scheduled(api, app, tenant, session, gocardless):
    from payymo.models import Tenant

    created, _ = connect(api, app)
    with system_scope():
        session.get(Tenant, tenant.tenant_id).status = "suspended"
        session.commit()
    past = utcnow() - dt.timedelta(minutes=1)
    _set(session, tenant, created["id"], next_sync_at=past)
    assert _visit(session, tenant, created["id"], utcnow()) is None


def test_a_sync_already_running_for_a_connection_is_not_started_twice(
    api, app, tenant, session, gocardless
):
    created, _ = connect(api, app)
    with try_sync_lock(session, created["id"]) as held:
        assert held
        assert sync(tenant, created["id"]) == {"skipped": "already_syncing"}
    assert "accounts" in sync(tenant, created["id"])


# On SQLite the test's own open transaction holds the one write lock, so the store's
# separate write is (rightly) skipped there; the store's own transaction is what is tested.
@pytest.mark.postgres
def test_database_token_store_keeps_tokens_encrypted_and_expires_them(app):
    store = DatabaseTokenStore()
    store.set("bench:test:token", "very-secret-token", ttl=60)
    type(store)._local = type(store)._local.__class__()  # another process: no local copy
    assert store.get("bench:test:token") == "very-secret-token"
    with db.engine().connect() as conn:
        from sqlalchemy.orm import Session

        with Session(conn) as s:
            row = s.scalar(select(ProviderToken).where(ProviderToken.key == "bench:test:token"))
            assert row is not None and "very-secret-token" not in row.value
    store.set("bench:test:token", "old", ttl=1)
    type(store)._local = type(store)._local.__class__()
    with db.engine().connect() as conn, conn.begin():
        conn.execute(
            ProviderToken.__table__.update()
            .where(ProviderToken.key == "bench:test:token")
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    assert store.get("bench:test:token") is None


@pytest.mark.redis
def test_redis_token_store_keeps_tokens_encrypted(app, settings):
    import redis

    store = RedisTokenStore()
    store.set("test:token", "very-secret-token", ttl=60)
    assert store.get("test:token") == "very-secret-token"
    raw = redis.Redis.from_url(settings.redis_url).get("payymo:provider_token:test:token")
    assert raw and b"very-secret-token" not in raw


def test_jobs_of_a_sync_carry_the_connection(api, app, tenant, session, gocardless):
    created, _ = connect(api, app)
    with tenant_scope(tenant.tenant_id):
        job = session.scalar(select(Job).where(Job.type == "bank_sync"))
        assert job.subject_id == created["id"]
        session.commit()
