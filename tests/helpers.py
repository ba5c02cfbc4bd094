"""Test helpers: an API client that sends the key, and small data builders."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask.testing import FlaskClient
from sqlalchemy import URL, create_engine, text
from sqlalchemy.engine import make_url

from payymo import background

JOB_WAIT_SECONDS = 120


@dataclass(frozen=True)
class TenantHandle:
    """A tenant created for a test, with its key's secret."""

    tenant_id: str
    key_id: str
    secret: str


class ApiClient:
    """Flask test client that authenticates every call with one key."""

    def __init__(self, client, secret: str | None):
        self.client = client
        self.secret = secret

    def request(self, method: str, path: str, *, headers=None, **kwargs):
        all_headers = {"X-API-Key": self.secret} if self.secret else {}
        all_headers.update(headers or {})
        if not path.startswith("/"):
            path = "/api/v1/" + path
        return self.client.open(path, method=method, headers=all_headers, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)

    def patch(self, path, **kwargs):
        return self.request("PATCH", path, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)


def invoice_body(external_id: str = "ERP-1", **overrides) -> dict:
    """A valid invoice create body."""
    body = {
        "external_id": external_id,
        "number": "INV-1042",
        "customer_name": "Initech BV",
        "customer_email": "ap@initech.example",
        "amount_due": 12_300,
        "currency": "EUR",
        "issue_date": "2026-11-01",
        "due_date": "2026-11-30",
    }
    body.update(overrides)
    return body


def input_schemas() -> list[type]:
    """Every request schema class (all derive from ``StrictSchema``); import the app first."""
    from payymo.api.common import StrictSchema

    found, pending = [], [StrictSchema]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


OPENAPI_METHODS = ("get", "post", "put", "patch", "delete")


def operations(spec: dict):
    """Every operation of an OpenAPI document: (path, method, operation, path parameters)."""
    for path, item in spec["paths"].items():
        for method in OPENAPI_METHODS:
            if method in item:
                yield path, method, item[method], item.get("parameters", [])


class SettledClient(FlaskClient):
    """Flask's test client that, after each response, waits for the in-process jobs the
    request queued (the embedded default runs them on a background thread once the
    response is sent), so a test reads what a patient poller would."""

    def open(self, *args, **kwargs):
        kwargs["buffered"] = True  # the body is read and closed: its jobs are released
        response = super().open(*args, **kwargs)
        assert background.wait_idle(JOB_WAIT_SECONDS), "in-process jobs did not finish"
        return response


@contextmanager
def plain_owner_database(name: str, role: str) -> Iterator[tuple[URL, URL]]:
    """A fresh PostgreSQL database owned by ``role`` (LOGIN, not a superuser), dropped after.

    Yields its URL as the owner and as the suite's superuser.
    """
    from tests.conftest import PG_URL

    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(
            text(
                f"DO $$ BEGIN CREATE ROLE {role} LOGIN NOSUPERUSER; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        )
        conn.execute(text(f"CREATE DATABASE {name} OWNER {role}"))
    try:
        yield (
            make_url(PG_URL).set(database=name, username=role),
            make_url(PG_URL).set(database=name),
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
