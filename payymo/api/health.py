"""Operator endpoints: /healthz, /readyz, /metrics (outside the API, no key needed)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from payymo import db, runtime
from payymo.redis_guard import RedisUnavailable

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    """503 when the database fails; 200 "degraded" when only Redis does (the API serves)."""
    checks: dict[str, str] = {}
    try:
        with db.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unavailable"
    guard = runtime.redis_guard()
    if guard is not None:
        try:
            guard.call(lambda client: client.ping(), what="readyz")
            checks["redis"] = "ok"
        except RedisUnavailable:
            checks["redis"] = "unavailable"
    failing = [name for name in ("database",) if checks[name] != "ok"]
    degraded = [name for name in ("redis",) if checks.get(name, "ok") != "ok"]
    status = "unavailable" if failing else "degraded" if degraded else "ok"
    body: dict = {"status": status, "checks": checks}
    if failing:
        body["failing"] = failing
    if degraded:
        body["degraded"] = degraded
    return jsonify(body), 503 if failing else 200


@blp.get("/metrics")
def metrics():
    """Prometheus text: requests by route and status, latency histogram."""
    registry = current_app.extensions["payymo_metrics"].registry
    return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}
