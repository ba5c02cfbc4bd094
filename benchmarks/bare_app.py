"""The benchmark's baseline: a bare Flask view running the same SQL as the API.

No auth, no tenant scoping, no rate limiting, no schema serialisation: just the query
``GET /api/v1/transactions?limit=50`` ends up running, rows turned into JSON.
"""

from __future__ import annotations

import os

from flask import Flask, jsonify
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["PAYYMO_DATABASE_URL"], pool_size=4)
TENANT_ID = os.environ["BENCH_TENANT_ID"]
SQL = text(
    "SELECT * FROM transactions WHERE transactions.tenant_id = :tenant_id "
    "ORDER BY transactions.id DESC LIMIT :limit"
)

app = Flask(__name__)


@app.get("/api/v1/transactions")
def transactions():
    """Same rows as the API's first page (limit 50, one extra to know has_more)."""
    with engine.connect() as conn:
        rows = conn.execute(SQL, {"tenant_id": TENANT_ID, "limit": 51}).mappings().all()
    data = [dict(row) for row in rows[:50]]
    return jsonify(data=data, has_more=len(rows) > 50)
