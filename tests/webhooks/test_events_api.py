"""The event log speaks the webhook payload's shape; every event type is known and documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from payymo.api.events import catalog
from payymo.api.webhook_endpoints.schemas import WebhookDeliveryOut, WebhookEndpointOut
from payymo.event_types import EVENT_TYPES, subscribed, unknown_patterns
from payymo.representations.events import API_VERSION
from tests.helpers import invoice_body
from tests.webhooks.conftest import subscribe

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD_KEYS = {
    "object", "id", "event_type", "timestamp", "tenant_id", "api_version", "request_id", "data",
}  # fmt: skip


def test_events_are_listed_in_the_payload_shape_and_filtered_by_event_type(api, tenant):
    invoice = api.post("invoices", json=invoice_body()).json
    api.post(f"invoices/{invoice['id']}/void")
    listed = api.get("events", query_string={"event_type": "invoice.voided"}).json["data"]
    assert [e["event_type"] for e in listed] == ["invoice.voided"]
    [event] = listed
    assert set(event) == PAYLOAD_KEYS
    assert (event["object"], event["tenant_id"], event["api_version"]) == (
        "event",
        tenant.tenant_id,
        API_VERSION,
    )
    assert event["data"]["object"]["id"] == invoice["id"]
    same = api.get("events", query_string={"type": "invoice.voided"}).json["data"]
    assert same == listed
    both = api.get("events", query_string={"type": "invoice.voided", "event_type": "x.y"})
    assert both.status_code == 400


def test_event_types_are_listed_with_what_they_mean(api):
    listed = api.get("events/types").json["data"]
    assert {t["event_type"]: t["description"] for t in listed} == EVENT_TYPES


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_each_type_has_a_realistic_sample_in_the_payload_shape(api, tenant, event_type):
    response = api.get(f"events/samples/{event_type}")
    assert response.status_code == 200
    sample = response.json
    assert set(sample) == PAYLOAD_KEYS
    assert (sample["event_type"], sample["tenant_id"]) == (event_type, tenant.tenant_id)
    schema = catalog.data_schema(event_type)
    assert set(sample["data"]) <= set(schema._declared_fields)
    out = schema._declared_fields["object"].nested
    # The sample's object has exactly the fields its GET endpoint shows.
    assert set(sample["data"]["object"]) == set(out._declared_fields)


def test_an_unknown_sample_type_is_404(api):
    response = api.get("events/samples/invoice.exploded")
    assert response.status_code == 404
    assert response.json["error"]["param"] == "event_type"


def test_every_type_has_a_data_schema_in_openapi_and_a_line_in_readme(app):
    readme = (ROOT / "README.md").read_text()
    schemas = app.test_client().get("/api/v1/openapi.json").json["components"]["schemas"]
    for event_type in EVENT_TYPES:
        assert f"EventData.{event_type}" in schemas, event_type
        assert f"`{event_type}`" in readme, f"README does not list {event_type}"


def test_every_event_type_the_code_emits_is_known():
    literal = re.compile(
        r'"((?:invoice|transaction|match|suggestion|bank_connection|webhook_endpoint|webhook'
        r"|stripe_payment|stripe_payout|refund|dispute)\.[a-z_]+)\""
    )
    found = set()
    for path in (ROOT / "payymo" / "services").rglob("*.py"):
        found |= set(literal.findall(path.read_text()))
    assert found, "the scan found no event types at all"
    assert found <= set(EVENT_TYPES), found - set(EVENT_TYPES)


@pytest.mark.parametrize(
    ("patterns", "event_type", "expected"),
    [
        (["*"], "invoice.paid", True),
        (["invoice.*"], "invoice.paid", True),
        (["invoice.*"], "invoices.paid", False),
        (["invoice.paid"], "invoice.paid", True),
        (["invoice.paid"], "invoice.partially_paid", False),
        (["transaction.*", "invoice.voided"], "invoice.voided", True),
    ],
)
def test_subscriptions_cover_types_prefixes_and_everything(patterns, event_type, expected):
    assert subscribed(patterns, event_type) is expected


def test_patterns_that_name_nothing_are_unknown():
    assert unknown_patterns(["invoice.*", "*", "invoice.paid"]) == []
    assert unknown_patterns(["invoice.exploded", "nothing.*"]) == [
        "invoice.exploded",
        "nothing.*",
    ]


def test_endpoint_and_delivery_documents_equal_their_fields(api, receiver, dispatcher, session):
    from sqlalchemy import select

    from payymo.models import WebhookEndpoint
    from payymo.services.webhooks import deliveries
    from payymo.tenancy import tenant_scope

    endpoint = subscribe(api, receiver.url)
    api.post("invoices", json=invoice_body())
    dispatcher.drain()
    tenant_id = api.get("events").json["data"][0]["tenant_id"]
    with tenant_scope(tenant_id):
        row = session.scalars(select(WebhookEndpoint)).one()
        schema = WebhookEndpointOut()
        assert schema.dump(row) == schema.dump_by_fields(row)
        assert schema.dump(row)["id"] == endpoint["id"]
        page = deliveries.list_deliveries(
            session=session, endpoint_id=row.id, filters={}, page={"limit": 10}
        )
        [view] = page.data
        out = WebhookDeliveryOut()
        fields_dump = out.dump_by_fields(
            {
                **{
                    k: getattr(view.row, k)
                    for k in ("id", "endpoint_id", "tenant_id", "event_id", "status")
                },
                "event_type": view.event_type,
                "attempt_count": view.row.attempts,
                "next_attempt_at": None,
                "delivered_at": view.row.delivered_at,
                "last_status_code": view.row.last_status_code,
                "last_error": view.row.last_error,
                "created_at": view.row.created_at,
                "attempts": [
                    {k: getattr(a, k) for k in out.fields["attempts"].inner.nested().fields}
                    for a in view.attempts
                ],
            }
        )
        assert out.dump(view) == fields_dump
