"""Two partners, two tenants each: the partner wall, walked over every route of the spec.

Partner Alpha owns tenant A (the isolation walk's tenant, with one of every resource)
and another; Beta owns two. Beta's key, naming one of Alpha's tenants in X-Tenant-Id,
gets 404 on every tenant route; acting for its own tenant it gets 404 for every one of
A's ids; and the partner routes answer 404 for Alpha's tenants. A route the walk cannot
call makes it fail, so a new route cannot slip past.
"""

from __future__ import annotations

import re

import pytest

from payymo import db
from payymo.models import Tenant
from tests.api.test_isolation import (
    API,
    ID_KINDS,
    NOT_IDS,
    _path_params,
    _valid_change,
    build_tenant_a,
    send,
)
from tests.helpers import invoice_body, operations

PUBLIC = {f"{API}/openapi.json", f"{API}/bank_connections/callback"}


@pytest.fixture
def tenant_a(api, tenant, session, fake_stripe):
    """Tenant A with one of each resource, as the tenant isolation walk makes it."""
    return build_tenant_a(api, tenant, session, fake_stripe)


@pytest.fixture
def partners(make_partner, tenant, tenant_a, session):
    """Alpha owns tenant A (made by ``tenant_a``) and one more; Beta owns two."""
    alpha, beta = make_partner("Alpha"), make_partner("Beta")
    session.get_one(Tenant, tenant.tenant_id).partner_id = alpha.partner_id
    db.session.commit()
    alpha_other = alpha.api.post("partner/tenants", json={"name": "A2", "currency": "EUR"})
    betas = [
        beta.api.post("partner/tenants", json={"name": f"B{n}", "currency": "EUR"}).json
        for n in (1, 2)
    ]
    for made in betas:
        acting = beta.as_tenant(made["tenant"]["id"])
        assert acting.post("invoices", json=invoice_body("B-own")).status_code == 201
    return {
        "alpha": alpha,
        "beta": beta,
        "alpha_tenants": [tenant.tenant_id, alpha_other.json["tenant"]["id"]],
        "beta_tenants": [made["tenant"]["id"] for made in betas],
    }


def _url(path: str, ids: dict) -> str:
    return re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), "x_00000000000000000000000000"), path)


def _send(client, spec: dict, method: str, url: str, path: str, op: dict):
    """A request the operation would accept but for the ids (as the tenant walk sends it)."""
    return send(client, method, url, _valid_change(spec, method, path, op), op)


def test_naming_another_partners_tenant_is_404_on_every_tenant_route(spec, partners, tenant_a):
    problems, walked = [], 0
    for alpha_tenant in partners["alpha_tenants"]:
        acting = partners["beta"].as_tenant(alpha_tenant)
        for path, method, op, _params in operations(spec):
            if path in PUBLIC or path.startswith(f"{API}/partner/") or not path.startswith(API):
                continue
            ids = {n: tenant_a.ids[ID_KINDS[n]] for n in _path_params(path) if n in ID_KINDS}
            # The tenant is refused before the body is read: any body of its type will do.
            response = send(acting, method, _url(path, ids), {}, op)
            walked += 1
            error = (response.get_json(silent=True) or {}).get("error") or {}
            if (response.status_code, error.get("param")) != (404, "X-Tenant-Id"):
                problems.append(f"{method.upper()} {path}: {response.status_code} {error}")
            elif leaked := tenant_a.leaks(
                response.get_data(as_text=True), sent=(alpha_tenant, *ids.values())
            ):
                problems.append(f"{method.upper()} {path}: the answer shows {leaked}")
    assert not problems, "\n".join(problems)
    assert walked > 80


def test_acting_for_its_own_tenant_a_partner_reaches_none_of_another_tenants_ids(
    spec, partners, tenant_a
):
    acting = partners["beta"].as_tenant(partners["beta_tenants"][0])
    problems, walked = [], 0
    for path, method, op, _params in operations(spec):
        names = _path_params(path)
        if not names or set(names) <= NOT_IDS or path.startswith(f"{API}/partner/"):
            continue
        if not path.startswith(API):
            continue
        unknown = [n for n in names if n not in ID_KINDS]
        if unknown:
            problems.append(f"{method.upper()} {path}: no tenant-A id for {unknown}")
            continue
        ids = {n: tenant_a.ids[ID_KINDS[n]] for n in names}
        response = _send(acting, spec, method, _url(path, ids), path, op)
        walked += 1
        if response.status_code != 404:
            problems.append(f"{method.upper()} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert walked > 30


def test_the_partner_routes_answer_404_for_another_partners_ids(spec, partners):
    alpha, beta = partners["alpha"].api, partners["beta"].api
    hook = {"url": "http://127.0.0.1:9/hook", "event_types": ["*"]}
    alphas = {"endpoint_id": alpha.post("partner/webhook_endpoints", json=hook).json["id"]}
    own_endpoint = beta.post("partner/webhook_endpoints", json=hook).json["id"]
    problems, walked = [], 0
    for path, method, op, _params in operations(spec):
        names = _path_params(path)
        if not path.startswith(f"{API}/partner/") or not names:
            continue
        if unknown := [n for n in names if n not in ("tenant_id", *alphas)]:
            problems.append(f"{method.upper()} {path}: no Alpha id for {unknown}")
            continue
        for alpha_tenant in partners["alpha_tenants"]:
            url = _url(path, {**alphas, "tenant_id": alpha_tenant})
            if method in ("post", "put", "patch"):
                body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
                response = beta.request(method.upper(), url, json=body.get("example", {}))
            else:
                response = beta.request(method.upper(), url)
            walked += 1
            if response.status_code != 404:
                problems.append(f"{method.upper()} {path}: {response.status_code}")
    assert not problems, "\n".join(problems)
    assert walked >= 2 * 9
    # Alpha's tenants named in a body or a filter of Beta's own endpoint: 404 too.
    for alpha_tenant in partners["alpha_tenants"]:
        tested = beta.post(
            f"partner/webhook_endpoints/{own_endpoint}/test", json={"tenant_id": alpha_tenant}
        )
        listed = beta.get(
            f"partner/webhook_endpoints/{own_endpoint}/deliveries",
            query_string={"tenant_id": alpha_tenant},
        )
        assert (tested.status_code, listed.status_code) == (404, 404)
    listed = {t["id"] for t in beta.get("partner/tenants").json["data"]}
    assert listed == set(partners["beta_tenants"])
    alpha_listed = {t["id"] for t in partners["alpha"].api.get("partner/tenants").json["data"]}
    assert alpha_listed == set(partners["alpha_tenants"])
    assert [e["id"] for e in beta.get("partner/webhook_endpoints").json["data"]] == [own_endpoint]
