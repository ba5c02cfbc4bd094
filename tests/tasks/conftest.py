"""Fixtures for job tests: committing sessions a worker can see, and in-process jobs."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
import redis
import requests
from rq import Queue
from sqlalchemy import delete
from sqlalchemy.orm import sessionmaker

from payymo import db, jobs, runtime
from payymo.models import Tenant
from tests.tasks.processes import PAYYMO, ROOT, free_port, payymo_env, terminate

DEADLINE = 60


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


@pytest.fixture
def demo_server(settings, sessions, tmp_path):
    """``payymo demo`` then ``payymo serve`` (embedded jobs); answers where and how to call."""
    env = payymo_env(settings, PAYYMO_ENV="development", PAYYMO_REDIS_URL=None)
    demo = subprocess.run(
        [PAYYMO, "demo"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    created = json.loads(demo.stdout)
    sessions.created.append(created["tenant_id"])
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [PAYYMO, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        fake = re.search(r"STRIPE=(\S+) SK=(\S+)", log_path.read_text())
        assert fake, log_path.read_text()
        yield {
            "port": port,
            "base": f"http://127.0.0.1:{port}/api/v1",
            "key": created["api_key"],
            "stripe": fake.group(1),
            "sk": fake.group(2),
            "log": log_path,
            "env": env,
        }
    finally:
        terminate(proc, timeout=30)
