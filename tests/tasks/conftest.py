"""Fixtures for job tests: committing sessions a worker can see, and in-process jobs."""

from __future__ import annotations

import pytest
import redis
from rq import Queue
from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker

from payymo import db, jobs, runtime
from payymo.models import Tenant


@pytest.fixture
def sessions(app, settings):
    """Committing sessions; every tenant id appended to ``.created`` is deleted after."""
    if settings.redis_url:
        # Jobs queued by rolled-back tests elsewhere point at nothing; do not run them here.
        conn = redis.Redis.from_url(settings.redis_url)
        for name in jobs.QUEUES:
            Queue(name, connection=conn).empty()
    factory = sessionmaker(bind=db.engine(), expire_on_commit=False)
    factory.created = []
    yield factory
    with factory() as session:
        session.execute(delete(Tenant).where(Tenant.id.in_(factory.created)))
        session.commit()


@pytest.fixture
def in_process(app, settings):
    """The embedded default (no Redis) for one test; the suite's settings come back after."""
    original = runtime.settings()
    runtime.configure(settings.with_overrides(redis_url=None))
    assert runtime.redis_connection() is None
    yield
    runtime.configure(original)
