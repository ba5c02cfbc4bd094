"""Operator endpoints: /healthz, /readyz, /metrics (outside the API, no key needed)."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from payymo import db, runtime

blp = Blueprint("health", __name__)


@blp.get("/healthz")
def healthz():
    """The process is alive."""
    return jsonify(status="ok")


@blp.get("/readyz")
def readyz():
    """The database (and Redis, when configured) answer; 503 names what failed."""
    checks: dict[str, str] = {}
    try:
        with db.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:
        checks["database"] = "unavailable"
    conn = runtime.redis_connection()
    if conn is not None:
        try:
            conn.ping()
            checks["redis"] = "ok"
        except Exception:
            checks["redis"] = "unavailable"
    failing = [name for name, state in checks.items() if state != "ok"]
    status = 503 if failing else 200
    body = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    return jsonify(body), status


@blp.get("/metrics")
def metrics():
    """Prometheus text: requests by route and status, latency histogram."""
    registry = current_app.extensions["payymo_metrics"].registry
    return generate_latest(registry), 200, {"Content-Type": CONTENT_TYPE_LATEST}
