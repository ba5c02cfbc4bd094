"""The portal over HTTP: one-time sign-in links, the session cookie, CSRF, bank connections."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from payymo.models import AuditLog, BankConnection, PortalLink
from payymo.tenancy import tenant_scope
from tests.banking import connect

BRANDING = {
    "name": "Ledgerly Pay",
    "logo_url": "https://cdn.ledgerly.example/logo.svg",
    "primary_color": "#1a73e8",
    "support_email": "help@ledgerly.example",
}


@pytest.fixture
def shop(make_partner, app):
    """A branded partner, its tenant with a linked bank connection, and a browser."""
    partner = make_partner("Ledgerly")
    assert partner.api.request("PUT", "partner/branding", json=BRANDING).status_code == 200
    tenant = partner.api.post(
        "partner/tenants", json={"name": "Corner Shop Ltd", "currency": "EUR"}
    ).json["tenant"]
    connection, _back = connect(partner.as_tenant(tenant["id"]), app)
    return {
        "partner": partner,
        "tenant_id": tenant["id"],
        "connection_id": connection["id"],
        "browser": app.test_client(),
    }


def _link(shop, **body) -> dict:
    response = shop["partner"].api.post(
        f"partner/tenants/{shop['tenant_id']}/portal_sessions", json=body
    )
    assert response.status_code == 201, response.json
    return response.json


def _open(shop, url: str):
    return shop["browser"].get(urlsplit(url).path)


def _signed_in(shop):
    opened = _open(shop, _link(shop)["url"])
    assert opened.status_code == 302 and opened.headers["Location"].endswith("/portal")
    return opened


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_a_link_signs_the_browser_in_once_with_a_locked_down_cookie(shop):
    link = _link(shop)
    expires = dt.datetime.fromisoformat(link["expires_at"])
    assert dt.timedelta(minutes=14) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=15)
    opened = _open(shop, link["url"])
    assert opened.status_code == 302
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/portal" in cookie
    page = shop["browser"].get("/portal")
    assert page.status_code == 200
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert "script-src" not in page.headers["Content-Security-Policy"]  # none at all
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    assert "Ledgerly Pay" in html and BRANDING["logo_url"] in html and "#1a73e8" in html
    assert "Corner Shop Ltd" in html and "linked" in html
    again = shop["browser"].get(urlsplit(link["url"]).path)  # single use
    assert again.status_code == 400 and "cannot be used" in again.get_data(as_text=True)
    assert shop["browser"].get("/portal").status_code == 401  # and that ended the session


def test_an_expired_or_made_up_link_opens_nothing(shop, session):
    link = _link(shop)
    with tenant_scope(shop["tenant_id"]):
        row = session.scalars(select(PortalLink)).one()
        row.expires_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        session.commit()
    assert _open(shop, link["url"]).status_code == 400
    assert shop["browser"].get("/portal/sign-in/not-a-token").status_code == 400
    assert shop["browser"].get("/portal").status_code == 401


def test_forms_need_the_sessions_csrf_token(shop):
    _signed_in(shop)
    url = f"/portal/bank_connections/{shop['connection_id']}/reconnect"
    refused = shop["browser"].post(url, data={})
    assert refused.status_code == 400 and "Form expired" in refused.get_data(as_text=True)
    wrong = shop["browser"].post(url, data={"csrf_token": "guess"})
    assert wrong.status_code == 400
    odd = shop["browser"].post(url, data={"csrf_token": "é—not ascii"})
    assert odd.status_code == 400


def test_an_expired_connection_is_reconnected_from_the_portal(shop, session):
    with tenant_scope(shop["tenant_id"]):
        conn = session.get_one(BankConnection, shop["connection_id"])
        conn.status = "expired"
        session.commit()
    _signed_in(shop)
    page = shop["browser"].get("/portal").get_data(as_text=True)
    assert "Reconnect" in page and "expired" in page
    sent = shop["browser"].post(
        f"/portal/bank_connections/{shop['connection_id']}/reconnect",
        data={"csrf_token": _csrf(page)},
    )
    assert sent.status_code == 302
    with tenant_scope(shop["tenant_id"]):
        conn = session.get_one(BankConnection, shop["connection_id"])
        assert conn.status == "pending" and sent.headers["Location"] == conn.link
        [row] = session.scalars(select(AuditLog).where(AuditLog.actor.like("portal:%"))).all()
        link_id = session.scalars(select(PortalLink.id)).one()
    assert (row.actor, row.resource_id, row.status_code) == (
        f"portal:{link_id}",
        shop["connection_id"],
        302,
    )
    assert row.action == "POST /portal/bank_connections/<connection_id>/reconnect"


def test_another_tenants_connection_is_404_from_the_portal(shop, make_partner, app):
    other = make_partner("Other")
    tenant = other.api.post("partner/tenants", json={"name": "Far Ltd", "currency": "EUR"})
    theirs, _back = connect(other.as_tenant(tenant.json["tenant"]["id"]), app)
    _signed_in(shop)
    page = shop["browser"].get("/portal").get_data(as_text=True)
    answer = shop["browser"].post(
        f"/portal/bank_connections/{theirs['id']}/reconnect", data={"csrf_token": _csrf(page)}
    )
    assert answer.status_code == 404


def test_a_links_return_url_is_the_pages_way_back(shop):
    link = _link(shop, return_url="https://app.ledgerly.example/clients/42")
    assert _open(shop, link["url"]).status_code == 302
    page = shop["browser"].get("/portal").get_data(as_text=True)
    assert '<a href="https://app.ledgerly.example/clients/42">Back to Ledgerly Pay</a>' in page


def test_links_are_only_for_the_partners_own_active_tenants(shop, make_partner):
    other = make_partner("Other")
    url = f"partner/tenants/{shop['tenant_id']}/portal_sessions"
    assert other.api.post(url, json={}).status_code == 404
    bad = shop["partner"].api.post(url, json={"return_url": "javascript:alert(1)"})
    assert (bad.status_code, bad.json["error"]["param"]) == (400, "return_url")
    assert shop["partner"].api.post(url, json={"expires_in": 5}).status_code == 400
