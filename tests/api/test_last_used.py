"""last_used_at is bookkeeping: requests on one key never wait on each other for it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from payymo.db import utcnow
from payymo.models import ApiKey
from payymo.tenancy import tenant_scope
from tests.concurrency import committed_world

pytestmark = pytest.mark.postgres


@pytest.fixture
def world(app):
    with committed_world(app) as made:
        yield made


def _key(world) -> ApiKey:
    with world["factory"]() as session, tenant_scope(world["tenant_id"]):
        return session.scalars(select(ApiKey)).one()


def test_a_request_does_not_wait_for_another_holding_the_key_row(world):
    factory, api = world["factory"], world["api"]
    key_id = _key(world).id
    with factory() as session, tenant_scope(world["tenant_id"]):
        # Another transaction holds the key's row (a slow request, a revoke in progress).
        session.scalars(select(ApiKey).where(ApiKey.id == key_id).with_for_update()).one()
        body = {"external_id": "E-1", "amount_due": 100, "currency": "EUR"}
        response = api.post("invoices", json=body)
        # Answered while the row is still locked: nothing waited on it (before, the
        # request's own UPDATE queued behind this lock until the lock timeout).
        assert response.status_code == 201, response.json
        session.rollback()
    assert _key(world).last_used_at is None  # skipped, not waited for
    assert api.get("invoices").status_code == 200
    assert _key(world).last_used_at is not None  # the next request records it


def test_last_used_at_is_committed_even_when_the_request_fails(world):
    api = world["api"]
    stale = utcnow() - dt.timedelta(hours=1)
    with world["factory"]() as session, tenant_scope(world["tenant_id"]):
        session.scalars(select(ApiKey)).one().last_used_at = stale
        session.commit()
    assert (
        api.patch("invoices/inv_00000000000000000000000000", json={"number": "INV-1"}).status_code
        == 404
    )
    assert _key(world).last_used_at > stale
