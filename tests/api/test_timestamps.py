"""Timestamp inputs take ISO 8601 with an offset or unix seconds (UTC), and refuse absurd ones."""

from __future__ import annotations

import datetime as dt

import pytest
from marshmallow import fields

from payymo.api.fields import Timestamp
from payymo.models import Invoice
from payymo.tenancy import tenant_scope
from tests.helpers import input_schemas, invoice_body

NOV_1 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
NOV_1_UNIX = 1793491200


def test_the_example_is_what_it_says():
    assert dt.datetime.fromtimestamp(NOV_1_UNIX, dt.UTC) == NOV_1


@pytest.fixture
def changed(api, tenant, session) -> dict[str, str]:
    """Invoices last changed before, exactly at, and after 2026-11-01T00:00:00Z."""
    stamps = {
        "before": NOV_1 - dt.timedelta(seconds=1),
        "at": NOV_1,
        "after": NOV_1 + dt.timedelta(days=3),
    }
    ids = {}
    for label in stamps:
        response = api.post("invoices", json=invoice_body(f"ERP-{label}"))
        assert response.status_code == 201
        ids[label] = response.get_json()["id"]
    with tenant_scope(tenant.tenant_id):
        for label, stamp in stamps.items():
            session.get_one(Invoice, ids[label]).updated_at = stamp
        session.commit()
    return ids


def _ids(response) -> set[str]:
    assert response.status_code == 200, response.get_json()
    return {item["id"] for item in response.get_json()["data"]}


@pytest.mark.parametrize(
    "since",
    [
        "2026-11-01T00%3A00%3A00Z",
        "2026-11-01T01%3A00%3A00%2B01%3A00",
        str(NOV_1_UNIX),
    ],
)
def test_updated_since_takes_iso_8601_or_unix_seconds(api, changed, since):
    assert _ids(api.get(f"invoices?updated_since={since}")) == {changed["at"], changed["after"]}


def test_unix_seconds_pick_the_same_instant_to_the_second(api, changed):
    later = _ids(api.get(f"invoices?updated_since={NOV_1_UNIX + 1}"))
    assert later == {changed["after"]}
    assert changed["before"] in _ids(api.get(f"invoices?updated_since={NOV_1_UNIX - 1}"))
    assert len(_ids(api.get("invoices?updated_since=0"))) == 3


@pytest.mark.parametrize(
    ("since", "says"),
    [
        ("-1", "never negative"),
        (str(NOV_1_UNIX * 1000), "looks like milliseconds"),
        ("99999999999999999999", "past the year 9999"),
        ("1793491200.5", "unix seconds (1793491200)"),
        ("2026-11-01T00:00:00", "needs an offset"),
        ("yesterday", "Not a valid timestamp"),
    ],
)
def test_absurd_or_malformed_timestamps_are_refused_clearly(api, since, says):
    response = api.get("invoices", query_string={"updated_since": since})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert (error["param"], error["code"]) == ("updated_since", "parameter_invalid")
    assert says in error["message"]


def test_api_key_expiry_takes_unix_seconds_in_a_body(api):
    soon = int(dt.datetime.now(dt.UTC).timestamp()) + 3600
    response = api.post("api_keys", json={"scopes": ["invoices:read"], "expires_at": soon})
    assert response.status_code == 201, response.get_json()
    expires = dt.datetime.fromisoformat(response.get_json()["expires_at"])
    assert expires == dt.datetime.fromtimestamp(soon, dt.UTC)


@pytest.mark.parametrize(
    ("expires_at", "says"),
    [
        (1_000, "in the future"),
        (-5, "never negative"),
        (1793491200.5, "whole seconds"),
        (True, "Not a valid timestamp"),
    ],
)
def test_api_key_expiry_refuses_past_fractional_or_absurd_unix_time(api, expires_at, says):
    response = api.post("api_keys", json={"scopes": ["admin"], "expires_at": expires_at})
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["param"] == "expires_at"
    assert says in error["message"]


def test_every_timestamp_input_is_read_by_the_timestamp_field(app):
    checked = []
    for cls in input_schemas():
        for name, field in cls._declared_fields.items():
            if isinstance(field, fields.DateTime):
                assert isinstance(field, Timestamp), f"{cls.__name__}.{name}"
                checked.append(f"{cls.__name__}.{name}")
    assert {"InvoiceListArgs.updated_since", "ApiKeyCreate.expires_at"} <= set(checked)
