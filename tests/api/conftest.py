"""Fixtures for API tests: the OpenAPI document as a client reads it; a tiny rate-limit plan;
the trigram indexes."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from payymo import runtime
from payymo.services import search_indexes

TINY = 3
WINDOW = 3600


@pytest.fixture(scope="module")
def spec(app) -> dict:
    """GET /api/v1/openapi.json."""
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json


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


@pytest.fixture(scope="module")
def indexes(app):
    """The trigram indexes, built as ``payymo db search-indexes`` does; dropped after."""
    from tests.conftest import PG_URL

    owner = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with owner.connect() as conn:
            built = search_indexes.build_missing(conn)
        yield built
    finally:
        with owner.connect() as conn:
            for statement in search_indexes.drop_statements():
                conn.execute(text(statement))
        owner.dispose()
