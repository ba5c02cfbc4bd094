"""Tenant isolation through the API, walked generically over the generated OpenAPI spec.

Tenant A creates one of each resource; tenant B then calls every route with A's ids and
must get 404 (never data, never 403), lists must show B none of A's rows, and ids passed
in a body must be 404 too. A path parameter, query id filter or body id field the walk
does not know makes the test FAIL, so a new route cannot slip past it.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass

import pytest

from payymo.services.allocations import apply_match
from payymo.tenancy import tenant_scope
from tests.helpers import ApiClient, invoice_body, operations
from tests.reconciliation_helpers import Seed

API = "/api/v1"
# Parameter / field name → which of tenant A's objects it refers to.
ID_KINDS = {
    "invoice_id": "invoice",
    "bank_account_id": "bank_account",
    "account_id": "bank_account",
    "transaction_id": "transaction",
    "key_id": "api_key",
    "api_key_id": "api_key",
    "event_id": "event",
    "suggestion_id": "suggestion",
    "match_id": "match",
    "job_id": "job",
    "connection_id": "bank_connection",
    "endpoint_id": "webhook_endpoint",
    "payment_id": "stripe_payment",
    "payout_id": "stripe_payout",
}
# Path parameters that name no object of a tenant (a bank provider's name is everyone's,
# and so is an event type); tests/api/test_bank_connections.py shows one tenant's
# credentials stay its own.
NOT_IDS = {"provider", "event_type", "tenant_id"}
# (tenant_id: Stripe's calls to /webhooks/stripe/{tenant_id} are authorised by Stripe's
# signature with that tenant's secret, not by a key; tests/stripe covers them.)
# Body fields that end in "_id" but are not references to another object.
NOT_REFERENCES = {"external_id", "end_to_end_id", "provider_id", "id", "institution_id"}
SECRET = "Zq7Secret"  # marks every name and text tenant A writes


@dataclass
class TenantA:
    """Tenant A's ids by kind and every string that must never reach tenant B."""

    ids: dict[str, str]
    markers: list[str]

    def leaks(self, text: str, *, sent: tuple[str, ...] = ()) -> list[str]:
        """Markers in ``text``; ids the caller itself ``sent`` may be echoed in a 404."""
        return [m for m in self.markers if m in text and m not in sent]


def _ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    return response.json


def _reconciliation_ids(session, tenant_id: str, transaction_id: str, invoice_id: str) -> dict:
    """A match of a fresh credit (written directly: no reconcile run) and a suggestion."""
    seed = Seed(session, tenant_id)
    credit = seed.transaction(5_000, counterparty_name=f"{SECRET} Payer Two")
    invoice = seed.invoice(f"{SECRET}-ERP-2", customer_name=f"{SECRET} Customer", amount_due=5_000)
    with tenant_scope(tenant_id):
        match = apply_match(
            session=session,
            transaction_id=credit,
            allocations=[(invoice, 5_000)],
            method="manual",
            created_by="pym_live_tester",
        )
        session.commit()
    suggestion = seed.suggestion(transaction_id, [(invoice_id, 100)])
    return {"match": match.id, "suggestion": suggestion}


def _stripe_ids(api, tenant_id: str, fake) -> dict:
    """A Stripe payment for an invoice of A's (not the one the walk checks) and its payout."""
    from tasks.stripe import process_events
    from tests.stripe.conftest import link

    linked = link(api, tenant_id, fake)
    invoice_id = _ok(api.post("invoices", json=invoice_body(f"{SECRET}-ERP-9")), 201)["id"]
    payment = _ok(
        api.post(
            "stripe/payments",
            json={"invoice_id": invoice_id, "payment_method": "pm_card_visa", "amount": 100},
        ),
        201,
    )
    linked.ledger.settle()
    linked.post_new_events()
    process_events(tenant_id)
    [payout] = _ok(api.get("stripe/payouts"))["data"]
    return {"stripe_payment": payment["id"], "stripe_payout": payout["id"]}


@pytest.fixture
def tenant_a(api, tenant, session, fake_stripe) -> TenantA:
    """Tenant A with one of each resource (see ``build_tenant_a``)."""
    return build_tenant_a(api, tenant, session, fake_stripe)


def build_tenant_a(api, tenant, session, fake_stripe) -> TenantA:
    """One of each of tenant A's resources, and every string that must not leak from it."""
    # Keep A's rows as created: the walk checks nothing of them changes.
    _ok(api.patch("tenant", json={"settings": {"auto_match_enabled": False}}))
    invoice = _ok(
        api.post(
            "invoices",
            json=invoice_body(
                f"{SECRET}-ERP-1",
                customer_name=f"{SECRET} Customer",
                customer_email="secret-ap@acme.example",
                metadata={"note": f"{SECRET} note"},
            ),
        ),
        201,
    )
    account = _ok(
        api.post(
            "bank_accounts",
            json={"name": f"{SECRET} Account", "currency": "EUR", "iban": "DE89370400440532013000"},
        ),
        201,
    )
    imported = _ok(
        api.post(
            "transactions/import",
            json={"account_id": account["id"], "transactions": [_statement_line()]},
        )
    )
    [row] = imported["results"]
    key = _ok(api.post("api_keys", json={"name": f"{SECRET} key", "scopes": ["admin"]}), 201)
    job = _ok(api.post("reconciliation/run"), 202)
    connection = _ok(
        api.post(
            "bank_connections",
            json={
                "institution_id": "SANDBOXFINANCE_SFIN0000",
                "redirect_url": "https://a.example/",
            },
        ),
        201,
    )
    endpoint = _ok(
        api.post(
            "webhook_endpoints",
            json={
                "url": f"http://127.0.0.1:9/{SECRET}-hook",
                "event_types": ["invoice.paid"],
                "description": f"{SECRET} hook",
            },
        ),
        201,
    )
    stripe_ids = _stripe_ids(api, tenant.tenant_id, fake_stripe)
    events = _ok(api.get("events"))["data"]
    assert events, "creating an invoice must emit an event"
    ids = {
        "invoice": invoice["id"],
        "bank_account": account["id"],
        "transaction": row["id"],
        "api_key": key["id"],
        "event": events[0]["id"],
        "job": job["id"],
        "bank_connection": connection["id"],
        "webhook_endpoint": endpoint["id"],
        **stripe_ids,
    }
    ids |= _reconciliation_ids(session, tenant.tenant_id, ids["transaction"], ids["invoice"])
    markers = [
        *ids.values(),
        tenant.tenant_id,
        tenant.key_id,
        tenant.secret[: len("pym_live_") + 6],
        key["prefix"] if "prefix" in key else key["id"],
        SECRET,
        "Acme Ltd",  # tenant A's name
        "secret-ap@acme.example",
        "DE89370400440532013000",
    ]
    return TenantA(ids=ids, markers=markers)


def _statement_line(**overrides) -> dict:
    line = {
        "booking_date": "2026-11-20",
        "amount": 12_300,
        "currency": "EUR",
        "counterparty_name": f"{SECRET} Payer",
        "remittance_information": f"{SECRET} INV-1042",
    }
    line.update(overrides)
    return line


def _path_params(path: str) -> list[str]:
    return re.findall(r"{(\w+)}", path)


def _echo_only(body: dict, sent: tuple[str, ...]) -> bool:
    """The ids sent appear only in the error message (an echo of the caller's input)."""
    rest = {k: v for k, v in body["error"].items() if k != "message"}
    return not any(i in str(rest) for i in sent)


def send(client: ApiClient, method: str, url: str, body: dict, op: dict):
    """``body`` as the operation takes it: JSON, or multipart (each value a file)."""
    if "multipart/form-data" in op.get("requestBody", {}).get("content", {}):
        files = {name: (io.BytesIO(value), "statement.csv") for name, value in body.items()}
        return client.request(method.upper(), url, data=files, content_type="multipart/form-data")
    kwargs = {"json": body} if method in ("post", "put", "patch") else {}
    return client.request(method.upper(), url, **kwargs)


# Bodies that pass validation for POSTs that require one, so the path's id is what is
# looked up (an id nobody has: the path's id must answer 404 before it matters).
WALK_BODIES = {
    ("post", f"{API}/stripe/payouts/{{payout_id}}/match"): {
        "transaction_id": "txn_01JDX0000000000000000000"
    },
    ("post", f"{API}/bank_accounts/{{bank_account_id}}/statements"): {
        "file": b"Date,Description,Amount\n04/03/2024,Payment,1.00\n"
    },
}


def _valid_change(spec: dict, method: str, path: str, op: dict) -> dict:
    """A body the operation accepts: a PATCH must change something, so it clears a field."""
    if (method, path) in WALK_BODIES:
        return WALK_BODIES[(method, path)]
    if method != "patch":
        return {}
    properties = _body_schema(spec, op).get("properties", {})
    return {next(name for name, prop in properties.items() if prop.get("nullable")): None}


def test_every_route_with_an_id_answers_404_to_another_tenant(
    spec, tenant_a, api, other_api, caplog
):
    caplog.set_level(logging.WARNING, logger="payymo.security")
    problems, walked, kinds = [], [], set()
    for path, method, op, _params in operations(spec):
        names = _path_params(path)
        if not names or set(names) <= NOT_IDS:
            continue
        if path.startswith(f"{API}/partner/"):
            continue  # partner keys only: walked with another partner's ids there
        unknown = [n for n in names if n not in ID_KINDS]
        if unknown:
            problems.append(f"{method.upper()} {path}: no tenant-A id for {unknown}; add it")
            continue
        url, sent = path, tuple(tenant_a.ids[ID_KINDS[n]] for n in names)
        for name in names:
            url = url.replace(f"{{{name}}}", tenant_a.ids[ID_KINDS[name]])
            kinds.add(ID_KINDS[name])
        caplog.clear()
        response = send(other_api, method, url, _valid_change(spec, method, path, op), op)
        walked.append(f"{method.upper()} {path}")
        text = response.get_data(as_text=True)
        if response.status_code != 404:
            problems.append(f"{method.upper()} {path}: {response.status_code} {text[:200]}")
            continue
        if response.json["error"]["type"] != "not_found":
            problems.append(f"{method.upper()} {path}: error type {response.json['error']}")
        if leaked := tenant_a.leaks(text, sent=sent):
            problems.append(f"{method.upper()} {path}: response shows {leaked}")
        if any(i in text for i in sent) and not _echo_only(response.json, sent):
            problems.append(f"{method.upper()} {path}: id outside the error message: {text}")
        logged = {getattr(r, "resource_id", None) for r in caplog.records}
        if not logged & {tenant_a.ids[ID_KINDS[n]] for n in names}:
            problems.append(f"{method.upper()} {path}: no payymo.security event logged")
    assert not problems, "\n".join(problems)
    assert kinds == set(tenant_a.ids), f"no route walked for {set(tenant_a.ids) - kinds}"
    assert len(walked) >= 10, walked
    # Nothing B tried changed A's data.
    assert _ok(api.get(f"invoices/{tenant_a.ids['invoice']}"))["status"] == "open"
    assert _ok(api.get(f"api_keys/{tenant_a.ids['api_key']}")).get("revoked_at") is None
    assert _ok(api.get(f"transactions/{tenant_a.ids['transaction']}"))["category"] is None
    assert _ok(api.get(f"reconciliation/matches/{tenant_a.ids['match']}"))["status"] == "active"
    suggestion = _ok(api.get(f"reconciliation/suggestions/{tenant_a.ids['suggestion']}"))
    assert suggestion["status"] == "open"


def test_every_list_route_shows_another_tenant_none_of_its_rows(spec, tenant_a, api, other_api):
    # B has rows of its own, so an empty list is not what passes the test.
    _ok(other_api.post("invoices", json=invoice_body("B-1")), 201)
    problems, walked = [], []
    for path, method, op, params in operations(spec):
        if method != "get" or _path_params(path) or path == f"{API}/bank_connections/callback":
            continue  # the callback is the end user's way back from the bank: no tenant key
        if path.startswith(f"{API}/partner/"):
            continue  # partner keys only: their wall is walked in test_partners.py
        query = [p for p in op.get("parameters", []) + params if p["in"] == "query"]
        query_ids = [p["name"] for p in query]
        required = {p["name"]: p["example"] for p in query if p.get("required")}
        response = other_api.get(path, query_string=required)
        walked.append(path)
        text = response.get_data(as_text=True)
        if response.status_code != 200:
            problems.append(f"GET {path}: {response.status_code} {text[:200]}")
        if leaked := tenant_a.leaks(text):
            problems.append(f"GET {path}: shows {leaked}")
        # Filters that take an id: A's id must find nothing for B (empty, 400 or 404).
        for name in query_ids:
            if not name.endswith("_id") or name in NOT_REFERENCES:
                continue
            if name not in ID_KINDS:
                problems.append(f"GET {path}: no tenant-A id for query filter {name}; add it")
                continue
            filtered = other_api.get(path, query_string={name: tenant_a.ids[ID_KINDS[name]]})
            body = filtered.get_data(as_text=True)
            if filtered.status_code not in (200, 400, 404) or tenant_a.leaks(body):
                problems.append(f"GET {path}?{name}=A: {filtered.status_code} {body[:200]}")
            elif filtered.status_code == 200 and filtered.json.get("data"):
                problems.append(f"GET {path}?{name}=A: returned rows")
        # And A sees its own rows through the same route (the walk is not vacuous).
        if path.endswith(("/invoices", "/bank_accounts", "/transactions", "/events")):
            mine = api.get(path).get_data(as_text=True)
            if not any(i in mine for i in tenant_a.ids.values()):
                problems.append(f"GET {path}: tenant A does not see its own rows")
    assert not problems, "\n".join(problems)
    assert f"{API}/invoices" in walked and f"{API}/transactions" in walked


def _body_schema(spec: dict, op: dict) -> dict:
    content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema = content.get("schema", {})
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


# How to send each known body id field with a body that is otherwise valid.
BODY_CASES = {
    ("post", f"{API}/transactions/import", "account_id"): lambda ids: {
        "account_id": ids["bank_account"],
        "transactions": [_statement_line(counterparty_name="B Payer")],
    },
    ("post", f"{API}/reconciliation/matches", "transaction_id"): lambda ids: {
        "transaction_id": ids["transaction"],
        "allocations": [{"invoice_id": ids["invoice"], "amount": 100}],
    },
    ("post", f"{API}/reconciliation/match", "transaction_id"): lambda ids: {
        "transaction_id": ids["transaction"],
        "allocations": [{"invoice_id": ids["invoice"], "amount": 100}],
    },
    ("post", f"{API}/stripe/payments", "invoice_id"): lambda ids: {
        "invoice_id": ids["invoice"],
    },
    ("post", f"{API}/events/{{event_id}}/redeliver", "endpoint_id"): lambda ids: {
        "endpoint_id": ids["webhook_endpoint"],
    },
    ("post", f"{API}/stripe/payouts/{{payout_id}}/match", "transaction_id"): lambda ids: {
        "transaction_id": ids["transaction"],
    },
}


@dataclass
class Own:
    """Tenant B, calling: its client, its id, and the fake Stripe it may link to."""

    client: ApiClient
    tenant_id: str
    fake: object


def _own_event(client: ApiClient) -> str:
    """An event of the calling tenant (B resends its own event to A's endpoint)."""
    _ok(client.post("invoices", json=invoice_body("B-own")), 201)
    return _ok(client.get("events"))["data"][0]["id"]


def _own_payout(own: Own) -> str:
    """A paid payout of the calling tenant's (B matches A's credit to its own payout)."""
    return _stripe_ids(own.client, own.tenant_id, own.fake)["stripe_payout"]


# Paths with a parameter of the caller's own: how to fill it in.
OWN_PATHS = {
    f"{API}/events/{{event_id}}/redeliver": lambda own: (
        f"{API}/events/{_own_event(own.client)}/redeliver"
    ),
    f"{API}/stripe/payouts/{{payout_id}}/match": lambda own: (
        f"{API}/stripe/payouts/{_own_payout(own)}/match"
    ),
}


def test_ids_inside_a_body_are_404_for_another_tenant(
    spec, tenant_a, api, other_api, other_tenant, fake_stripe
):
    problems, seen = [], set()
    own = Own(other_api, other_tenant.tenant_id, fake_stripe)
    for path, method, op, _params in operations(spec):
        if path.startswith(f"{API}/partner/"):
            continue  # partner keys only: test_partner_isolation.py sends their tenant ids
        for name in _body_schema(spec, op).get("properties", {}):
            if not name.endswith("_id") or name in NOT_REFERENCES:
                continue
            case = BODY_CASES.get((method, path, name))
            if case is None:
                problems.append(f"{method.upper()} {path}: body field {name} has no case; add it")
                continue
            seen.add((method, path, name))
            body = case(tenant_a.ids)
            url = OWN_PATHS[path](own) if path in OWN_PATHS else path
            response = other_api.request(method.upper(), url, json=body)
            text = response.get_data(as_text=True)
            sent = (body[name],)
            if (
                response.status_code != 404
                or tenant_a.leaks(text, sent=sent)
                or not _echo_only(response.json, sent)
            ):
                problems.append(f"{method.upper()} {path} {name}: {response.status_code} {text}")
            elif response.json["error"]["param"] != name:
                problems.append(f"{method.upper()} {path} {name}: param {response.json['error']}")
    assert not problems, "\n".join(problems)
    assert seen == set(BODY_CASES), (
        f"cases for fields no longer in the spec: {set(BODY_CASES) - seen}"
    )
    # B's import wrote nothing into A's account.
    listed = _ok(api.get("transactions", query_string={"account_id": tenant_a.ids["bank_account"]}))
    assert [t["id"] for t in listed["data"]] == [tenant_a.ids["transaction"]]


def test_cross_tenant_404_looks_like_a_missing_id(tenant_a, other_api):
    """No existence oracle: another tenant's id and a never-issued id answer alike."""
    theirs = other_api.get(f"invoices/{tenant_a.ids['invoice']}")
    missing = other_api.get("invoices/inv_00000000000000000000000000")
    assert theirs.status_code == missing.status_code == 404
    strip = lambda e: {k: v for k, v in e.items() if k not in ("request_id", "message")}  # noqa: E731
    assert strip(theirs.json["error"]) == strip(missing.json["error"])
    assert tenant_a.ids["invoice"] in theirs.json["error"]["message"]  # echo of the input only


def test_cross_tenant_404_is_a_security_event(tenant_a, other_tenant, other_api, caplog):
    caplog.set_level(logging.WARNING, logger="payymo.security")
    response = other_api.get(f"invoices/{tenant_a.ids['invoice']}")
    assert response.status_code == 404
    records = [r for r in caplog.records if r.name == "payymo.security"]
    assert len(records) == 1
    record = records[0]
    assert record.levelno == logging.WARNING
    assert record.event == "security.cross_tenant_access"
    assert record.resource_id == tenant_a.ids["invoice"]
    assert record.tenant_id == other_tenant.tenant_id
    assert record.request_id == response.headers["X-Request-Id"]


def test_a_missing_id_is_not_a_security_event(tenant_a, other_api, caplog):
    caplog.set_level(logging.WARNING, logger="payymo.security")
    assert other_api.get("invoices/inv_00000000000000000000000000").status_code == 404
    assert not [r for r in caplog.records if r.name == "payymo.security"]


def test_the_tenant_route_shows_only_the_callers_tenant(tenant_a, other_api, other_tenant):
    body = _ok(other_api.get("tenant"))
    assert body["id"] == other_tenant.tenant_id
    assert not tenant_a.leaks(other_api.get("tenant").get_data(as_text=True))
