"""Cursor pagination on a real list (invoices): limits, cursors, newest first, every item once."""

from __future__ import annotations

import pytest

from payymo.ids import new_id
from tests.helpers import invoice_body


@pytest.fixture
def invoice_ids(api) -> list[str]:
    """30 invoices, returned newest first."""
    ids = []
    for i in range(30):
        response = api.post("invoices", json=invoice_body(f"PG-{i:02d}"))
        assert response.status_code == 201
        ids.append(response.json["id"])
    return ids[::-1]


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["data"]]


def test_default_limit_is_25_newest_first(api, invoice_ids):
    response = api.get("invoices")
    body = response.json
    assert body["object"] == "list"
    assert _ids(response) == invoice_ids[:25]
    assert body["has_more"] is True
    assert body["next_cursor"] == invoice_ids[24]


def test_limit_above_100_is_rejected_naming_limit(api):
    for bad in ("1000", "101", "0", "-1", "ten", "2.5"):
        response = api.get(f"invoices?limit={bad}")
        assert response.status_code == 400, bad
        assert response.json["error"]["param"] == "limit"


def test_limit_100_is_allowed(api, invoice_ids):
    response = api.get("invoices?limit=100")
    assert _ids(response) == invoice_ids
    assert response.json["has_more"] is False
    assert response.json["next_cursor"] is None


def test_starting_after_returns_the_next_older_page(api, invoice_ids):
    response = api.get(f"invoices?limit=5&starting_after={invoice_ids[4]}")
    assert _ids(response) == invoice_ids[5:10]
    assert response.json["has_more"] is True
    assert response.json["next_cursor"] == invoice_ids[9]


def test_ending_before_returns_the_next_newer_page(api, invoice_ids):
    response = api.get(f"invoices?limit=5&ending_before={invoice_ids[20]}")
    assert _ids(response) == invoice_ids[15:20]
    assert response.json["has_more"] is True
    short = api.get(f"invoices?limit=5&ending_before={invoice_ids[2]}")
    assert _ids(short) == invoice_ids[:2]
    assert short.json["has_more"] is False


def test_walking_all_pages_returns_every_item_once_newest_first(api, invoice_ids):
    seen, cursor, pages = [], None, 0
    while True:
        query = "invoices?limit=7" + (f"&starting_after={cursor}" if cursor else "")
        response = api.get(query)
        seen.extend(_ids(response))
        pages += 1
        if not response.json["has_more"]:
            assert response.json["next_cursor"] is None
            break
        cursor = response.json["next_cursor"]
        assert cursor == seen[-1]
    assert pages == 5
    assert seen == invoice_ids
    assert len(set(seen)) == len(seen)


def test_walking_backwards_with_ending_before_returns_every_item_once(api, invoice_ids):
    last_page = api.get(f"invoices?limit=100&starting_after={invoice_ids[-8]}")
    assert _ids(last_page) == invoice_ids[-7:]
    seen = list(_ids(last_page))
    cursor = seen[0]
    while True:
        response = api.get(f"invoices?limit=7&ending_before={cursor}")
        page = _ids(response)
        seen = page + seen
        if not response.json["has_more"]:
            break
        cursor = page[0]
    assert seen == invoice_ids


def test_filters_and_cursors_combine(api, invoice_ids):
    api.post(f"invoices/{invoice_ids[3]}/void")
    api.post(f"invoices/{invoice_ids[10]}/void")
    response = api.get(f"invoices?status=void&limit=1&starting_after={invoice_ids[3]}")
    assert _ids(response) == [invoice_ids[10]]
    assert response.json["has_more"] is False


@pytest.mark.parametrize(
    "cursor",
    [
        "inv_00000000000000000000000000",  # well-formed, never issued
        "forged",
        "inv_' OR '1'='1",
        "txn_01JD0000000000000000000000",
    ],
)
def test_a_forged_cursor_is_rejected_naming_the_param(api, invoice_ids, cursor):
    after = api.get("invoices", query_string={"starting_after": cursor})
    assert after.status_code == 400
    assert after.json["error"]["param"] == "starting_after"
    before = api.get("invoices", query_string={"ending_before": cursor})
    assert before.status_code == 400
    assert before.json["error"]["param"] == "ending_before"


def test_a_fresh_but_unknown_id_is_not_a_cursor(api, invoice_ids):
    response = api.get(f"invoices?starting_after={new_id('inv')}")
    assert response.status_code == 400
    assert response.json["error"]["param"] == "starting_after"


def test_another_tenants_id_is_not_a_cursor(api, other_api, invoice_ids):
    response = other_api.get(f"invoices?starting_after={invoice_ids[0]}")
    assert response.status_code == 400
    assert response.json["error"]["param"] == "starting_after"
    assert invoice_ids[1] not in response.get_data(as_text=True)


def test_both_cursors_at_once_are_rejected(api, invoice_ids):
    response = api.get(f"invoices?starting_after={invoice_ids[1]}&ending_before={invoice_ids[5]}")
    assert response.status_code == 400
    assert response.json["error"]["param"] in ("starting_after", "ending_before")


def test_an_empty_list(api):
    response = api.get("invoices")
    assert response.json == {
        "object": "list",
        "data": [],
        "has_more": False,
        "next_cursor": None,
        "next_sync_token": None,  # lists that accept sync_token always carry it
    }


@pytest.mark.parametrize(
    ("path", "prefix", "noun"),
    [
        ("bank_accounts", "ba", "bank account"),
        ("api_keys", "key", "API key"),
        ("invoices", "inv", "invoice"),
    ],
)
def test_an_unknown_cursor_names_the_list_in_words(api, path, prefix, noun):
    cursor = new_id(prefix)
    response = api.get(path, query_string={"starting_after": cursor})
    assert response.status_code == 400
    error = response.json["error"]
    assert (error["code"], error["param"]) == ("invalid_cursor", "starting_after")
    assert error["message"] == f"Invalid cursor '{cursor}': no such {noun} in this list."


@pytest.mark.parametrize("param", ["starting_after", "ending_before"])
def test_an_empty_cursor_is_refused_not_ignored(api, param):
    response = api.get(f"invoices?{param}=")
    assert response.status_code == 400
    assert (response.json["error"]["code"], response.json["error"]["param"]) == (
        "parameter_invalid",
        param,
    )
