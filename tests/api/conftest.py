"""The OpenAPI document as a client reads it, for tests that walk every operation."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def spec(app) -> dict:
    """GET /api/v1/openapi.json."""
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json
