"""Events API: the tenant's event log, newest first, filtered by type."""

from __future__ import annotations

import pytest

from tests.helpers import invoice_body

EVENT_FIELDS = {
    "object", "id", "event_type", "timestamp", "tenant_id", "api_version", "request_id", "data",
}  # fmt: skip


def _create_invoices(api, count: int) -> list[dict]:
    created = []
    for n in range(count):
        response = api.post("invoices", json=invoice_body(f"ERP-{n}"))
        assert response.status_code == 201
        created.append({**response.json, "_request_id": response.headers["X-Request-Id"]})
    return created


def _types(response) -> list[str]:
    return [e["event_type"] for e in response.json["data"]]


def test_invoice_created_events_newest_first(api):
    invoices = _create_invoices(api, 3)
    response = api.get("events")
    assert response.status_code == 200
    body = response.json
    assert body["object"] == "list"
    assert body["has_more"] is False
    assert _types(response) == ["invoice.created"] * 3
    assert [e["data"]["object"]["id"] for e in body["data"]] == [
        inv["id"] for inv in reversed(invoices)
    ]
    ids = [e["id"] for e in body["data"]]
    assert ids == sorted(ids, reverse=True)
    newest = body["data"][0]
    assert set(newest) == EVENT_FIELDS
    assert newest["object"] == "event"
    assert newest["id"].startswith("evt_")
    assert newest["request_id"] == invoices[-1]["_request_id"]
    assert newest["data"]["object"]["amount_due"] == 12_300
    assert newest["data"]["object"]["amount_due_display"] == "123.00"


def test_get_event_by_id(api):
    _create_invoices(api, 1)
    listed = api.get("events").json["data"][0]
    fetched = api.get(f"events/{listed['id']}")
    assert fetched.status_code == 200
    assert fetched.json == listed


def test_type_filter_exact_and_prefix(api):
    invoices = _create_invoices(api, 2)
    assert api.post(f"invoices/{invoices[0]['id']}/void").status_code == 200
    everything = api.get("events")
    assert _types(everything) == ["invoice.voided", "invoice.created", "invoice.created"]
    created = api.get("events", query_string={"type": "invoice.created"})
    assert _types(created) == ["invoice.created", "invoice.created"]
    voided = api.get("events", query_string={"type": "invoice.voided"})
    assert _types(voided) == ["invoice.voided"]
    assert voided.json["data"][0]["data"]["object"]["id"] == invoices[0]["id"]
    prefix = api.get("events", query_string={"type": "invoice.*"})
    assert [e["id"] for e in prefix.json["data"]] == [e["id"] for e in everything.json["data"]]
    # A bare prefix without ".*" is an exact type, and matches nothing here.
    assert api.get("events", query_string={"type": "invoice"}).json["data"] == []
    assert api.get("events", query_string={"type": "transaction.*"}).json["data"] == []


def test_prefix_filter_treats_underscore_literally(api):
    _create_invoices(api, 1)
    # "_" is a LIKE wildcard; "invoic_.*" must not match "invoice.created".
    assert api.get("events", query_string={"type": "invoic_.*"}).json["data"] == []


def test_pagination(api):
    _create_invoices(api, 3)
    all_ids = [e["id"] for e in api.get("events").json["data"]]
    first = api.get("events", query_string={"limit": 2}).json
    assert [e["id"] for e in first["data"]] == all_ids[:2]
    assert first["has_more"] is True
    second = api.get(
        "events", query_string={"limit": 2, "starting_after": first["next_cursor"]}
    ).json
    assert [e["id"] for e in second["data"]] == all_ids[2:]
    assert second["has_more"] is False


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"type": "invoice.%"}, "type"),
        ({"type": "*"}, "type"),
        ({"type": "Invoice.Created"}, "type"),
        ({"type": "a" * 101}, "type"),
        ({"limit": 101}, "limit"),
        ({"kind": "invoice.created"}, "kind"),
        ({"starting_after": "evt_nope"}, "starting_after"),
    ],
)
def test_list_validation(api, query, param):
    response = api.get("events", query_string=query)
    assert response.status_code == 400
    assert response.json["error"]["param"] == param


def test_other_tenant_sees_none_of_them(api, other_api):
    _create_invoices(api, 2)
    mine = api.get("events").json["data"]
    assert len(mine) == 2
    assert other_api.get("events").json["data"] == []
    assert other_api.get("events", query_string={"type": "invoice.*"}).json["data"] == []
    for event in mine:
        response = other_api.get(f"events/{event['id']}")
        assert response.status_code == 404
        assert response.json["error"]["type"] == "not_found"
    cursor = other_api.get("events", query_string={"starting_after": mine[0]["id"]})
    assert cursor.status_code == 400


def test_unknown_event_is_404(api):
    response = api.get("events/evt_01JD0000000000000000000000")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "resource_missing"


def test_refused_write_leaves_no_event(api):
    assert api.post("invoices", json=invoice_body(amount_due=-5)).status_code == 400
    _create_invoices(api, 1)
    assert api.post("invoices", json=invoice_body("ERP-0")).status_code == 409
    assert _types(api.get("events")) == ["invoice.created"]
