"""The portal's Stripe payouts and webhooks pages, and the session's end."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from payymo.models import BankConnection, StripePayout, WebhookDelivery
from payymo.tenancy import tenant_scope
from tests.banking import SANDBOX, walk


@pytest.fixture
def signed_in(make_partner, app):
    partner = make_partner("Ledgerly")
    tenant_id = partner.api.post(
        "partner/tenants", json={"name": "Corner Shop Ltd", "currency": "EUR"}
    ).json["tenant"]["id"]
    link = partner.api.post(f"partner/tenants/{tenant_id}/portal_sessions", json={}).json
    browser = app.test_client()
    assert browser.get(urlsplit(link["url"]).path).status_code == 302
    return {"browser": browser, "tenant_id": tenant_id, "acting": partner.as_tenant(tenant_id)}


def test_a_payout_is_shown_with_its_breakdown_and_bank_line(signed_in, session):
    with tenant_scope(signed_in["tenant_id"]):
        session.add(
            StripePayout(
                stripe_id="po_portal1",
                status="paid",
                amount=11_913,
                currency="EUR",
                arrival_date=dt.date(2026, 11, 20),
                automatic=True,
                reconciliation_status="completed",
                breakdown={
                    "charges": 12_300,
                    "charge_count": 1,
                    "refunds": 0,
                    "refund_count": 0,
                    "disputes": 0,
                    "dispute_count": 0,
                    "other": 0,
                    "fees": 387,
                    "net": 11_913,
                    "invoices": [
                        {"invoice_id": "inv_x", "invoice_number": "INV-1042", "amount": 12_300}
                    ],
                },
                breakdown_source="payout",
                stripe_created=dt.datetime(2026, 11, 19, tzinfo=dt.UTC),
            )
        )
        session.commit()
    page = signed_in["browser"].get("/portal/payouts").get_data(as_text=True)
    assert "119.13 EUR, arriving 2026-11-20" in page
    assert "123.00" in page and "3.87" in page and "INV-1042 (123.00)" in page
    assert "not matched yet" in page


def test_a_test_event_is_sent_from_the_webhooks_page(signed_in, session):
    made = signed_in["acting"].post(
        "webhook_endpoints",
        json={"url": "http://127.0.0.1:9/hook", "event_types": ["invoice.paid"]},
    )
    assert made.status_code == 201, made.json
    page = signed_in["browser"].get("/portal/webhooks").get_data(as_text=True)
    assert "http://127.0.0.1:9/hook" in page and "No deliveries yet." in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    sent = signed_in["browser"].post(
        f"/portal/webhooks/{made.json['id']}/test", data={"csrf_token": csrf}
    )
    assert sent.status_code == 303
    after = signed_in["browser"].get(sent.headers["Location"]).get_data(as_text=True)
    assert "A test event is on its way." in after and "webhook.test" in after
    with tenant_scope(signed_in["tenant_id"]):
        assert session.scalars(select(WebhookDelivery.endpoint_id)).all() == [made.json["id"]]


def test_the_session_ends_after_its_time(signed_in):
    browser = signed_in["browser"]
    with browser.session_transaction() as cookie:
        cookie["ends_at"] = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)).isoformat()
    ended = browser.get("/portal")
    assert ended.status_code == 401 and "Your session has ended" in ended.get_data(as_text=True)
    assert browser.get("/portal/invoices").status_code == 401  # and it stays ended


def test_a_bank_is_connected_from_the_portal_and_the_person_comes_back_to_it(signed_in, session):
    browser = signed_in["browser"]
    form = browser.get("/portal/connect?country=GB").get_data(as_text=True)
    assert "Sandbox Finance" in form and "Monzo" in form
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    started = browser.post("/portal/connect", data={"csrf_token": csrf, "institution_id": SANDBOX})
    assert started.status_code == 302
    back = walk(started.headers["Location"])  # the consent at the fake bank
    landed = callback_in(browser, back)
    assert landed.status_code == 302 and urlsplit(landed.headers["Location"]).path == "/portal"
    page = browser.get("/portal").get_data(as_text=True)
    assert "Sandbox Finance" in page and "linked" in page
    with tenant_scope(signed_in["tenant_id"]):
        [status] = session.scalars(select(BankConnection.status)).all()
    assert status == "linked"
    unknown = browser.post("/portal/connect", data={"csrf_token": csrf, "institution_id": "NOPE"})
    assert unknown.status_code == 400
    assert "Pick a bank from the list" in unknown.get_data(as_text=True)


def callback_in(browser, url: str):
    """Payymo's callback, opened in the same browser (no API key: the bank sent it)."""
    parts = urlsplit(url)
    return browser.get(f"{parts.path}?{parts.query}")
