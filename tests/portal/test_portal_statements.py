"""The portal's statement file page: a person imports what their bank exported."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from payymo.models import AuditLog, Transaction
from payymo.tenancy import tenant_scope
from tests import browser, serving
from tests.portal.test_portal_pages import signed_in  # noqa: F401 (a fixture)

SAMPLES = Path(__file__).resolve().parent.parent / "statements" / "samples"


def _account(acting) -> str:
    made = acting.post("bank_accounts", json={"name": "Main EUR", "currency": "EUR"})
    assert made.status_code == 201
    return made.json["id"]


def _lines(session, tenant_id: str) -> list[Transaction]:
    with tenant_scope(tenant_id):
        session.expire_all()
        return list(session.scalars(select(Transaction).order_by(Transaction.amount)))


def _post(browser_client, csrf: str, account: str, name: str, data: bytes, **fields):
    form = {"csrf_token": csrf, "account_id": account, "file": (io.BytesIO(data), name), **fields}
    return browser_client.post("/portal/statements", data=form, content_type="multipart/form-data")


def test_a_statement_file_is_imported_from_the_portal(signed_in, session):  # noqa: F811
    account = _account(signed_in["acting"])
    client = signed_in["browser"]
    page = client.get("/portal/statements").get_data(as_text=True)
    assert "Main EUR (EUR)" in page and 'enctype="multipart/form-data"' in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    data = (SAMPLES / "uk.csv").read_bytes()
    done = _post(client, csrf, account, "uk.csv", data, mapping="uk")
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "Imported 3 lines (csv)" in text and "3 new, 0 already here" in text
    assert [t.amount for t in _lines(session, signed_in["tenant_id"])] == [
        -125_000,
        -1_230,
        123_456,
    ]
    again = _post(client, csrf, account, "uk.csv", data).get_data(as_text=True)
    assert "0 new, 3 already here" in again
    with tenant_scope(signed_in["tenant_id"]):
        audited = session.scalars(
            select(AuditLog).where(AuditLog.resource_type == "statement_import")
        ).all()
    assert [a.resource_id for a in audited] == [account, account]
    assert all(a.actor.startswith("portal:") for a in audited)


def test_the_portal_says_why_a_file_was_refused_and_writes_nothing(signed_in, session):  # noqa: F811
    account = _account(signed_in["acting"])
    client = signed_in["browser"]
    csrf = re.search(
        r'name="csrf_token" value="([^"]+)"',
        client.get("/portal/statements").get_data(as_text=True),
    ).group(1)
    unknown = _post(client, csrf, account, "photo.png", b"\x89PNG\r\n\x1a\nbinary")
    assert unknown.status_code == 400
    assert "accepted formats" in unknown.get_data(as_text=True)
    forged = _post(client, "not-the-token", account, "uk.csv", b"Date,Description,Amount\n")
    assert forged.status_code == 400 and "Form expired" in forged.get_data(as_text=True)
    assert _lines(session, signed_in["tenant_id"]) == []


@pytest.mark.browser
def test_a_person_uploads_a_statement_in_a_browser(make_partner, app, session, tmp_path):
    from selenium.webdriver.common.by import By

    partner = make_partner("Ledgerly")
    tenant_id = partner.api.post(
        "partner/tenants", json={"name": "Corner Shop Ltd", "currency": "EUR"}
    ).json["tenant"]["id"]
    _account(partner.as_tenant(tenant_id))
    link = partner.api.post(f"partner/tenants/{tenant_id}/portal_sessions", json={}).json
    with serving.serve(app, threaded=False) as origin, browser.driven(tmp_path) as page:
        page.get(origin + urlsplit(link["url"]).path)
        browser.follow(page, page.find_element(By.LINK_TEXT, "Statement files"))
        page.find_element(By.ID, "file").send_keys(str(SAMPLES / "camt053_v02.xml"))
        browser.follow(page, page.find_element(By.XPATH, "//button[text()='Import']"))
        page.save_screenshot(str(tmp_path / "statement-imported.png"))
        status = page.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert "Imported 5 lines (camt.053)" in status
    assert "5 new, 0 already here, 0 could not be read" in status
    assert "closing balance EUR 2739.66" in status
    assert len(_lines(session, tenant_id)) == 5
