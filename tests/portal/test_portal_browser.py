"""The portal as a person uses it: Debian's headless Chromium, clicking through every page.

Sign in with a link, see the partner's logo and colour, accept a suggestion, match a
credit by hand to two invoices, undo a match, reconnect an expired bank connection.
A screenshot of each page is written under the test's temporary directory.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from payymo.models import BankConnection, Invoice, Transaction
from payymo.tenancy import tenant_scope
from tests import browser, serving
from tests.banking import REDIRECT, connect
from tests.reconciliation_helpers import Seed

BRANDING = {
    "name": "Ledgerly Pay",
    "logo_url": "https://cdn.ledgerly.example/logo.svg",
    "primary_color": "#1a73e8",
    "support_email": "help@ledgerly.example",
}


@pytest.fixture
def world(make_partner, app, session):
    """A branded partner's tenant: a suggestion to accept, a credit to match by hand to two
    invoices, and an expired bank connection."""
    partner = make_partner("Ledgerly")
    partner.api.request("PUT", "partner/branding", json=BRANDING)
    tenant_id = partner.api.post(
        "partner/tenants", json={"name": "Corner Shop Ltd", "currency": "EUR"}
    ).json["tenant"]["id"]
    connection, _back = connect(partner.as_tenant(tenant_id), app)
    seed = Seed(session, tenant_id)
    suggested = seed.invoice("ERP-1", number="INV-1042", customer_name="Initech BV")
    first = seed.invoice("ERP-2", number="INV-2001", customer_name="Globex GmbH", amount_due=3_000)
    second = seed.invoice("ERP-3", number="INV-2002", customer_name="Globex GmbH", amount_due=2_000)
    credit = seed.transaction(12_300, counterparty_name="INITECH", remittance_information="")
    reasons = [{"code": "payer_name", "text": "The payer's name matches the customer."}]
    seed.suggestion(credit, [(suggested, 12_300)], confidence=0.82, reasons=reasons)
    seed.update(Transaction, credit, match_status="suggested")
    by_hand = seed.transaction(5_000, counterparty_name="GLOBEX", remittance_information="")
    seed.update(BankConnection, connection["id"], status="expired")
    link = partner.api.post(f"partner/tenants/{tenant_id}/portal_sessions", json={}).json
    return {
        "tenant_id": tenant_id,
        "link": link["url"],
        "invoices": {"suggested": suggested, "first": first, "second": second},
        "by_hand": by_hand,
        "connection_id": connection["id"],
    }


def _invoice(session, tenant_id: str, invoice_id: str) -> Invoice:
    with tenant_scope(tenant_id):
        session.expire_all()
        return session.get_one(Invoice, invoice_id)


@pytest.mark.browser
def test_a_person_works_through_the_portal_in_a_browser(world, app, session, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    with serving.serve(app, threaded=False) as origin, browser.driven(tmp_path) as page:

        def shot(name: str) -> None:
            page.save_screenshot(str(tmp_path / f"{name}.png"))

        def follow(element) -> None:
            browser.follow(page, element)

        # Sign in: the link's path on the served app.
        page.get(origin + urlsplit(world["link"]).path)
        assert page.current_url == f"{origin}/portal"
        shot("bank-connections")
        header = page.find_element(By.TAG_NAME, "header")
        assert "Ledgerly Pay" in header.text
        logo = header.find_element(By.TAG_NAME, "img")
        assert (logo.get_attribute("src"), logo.get_attribute("alt")) == (
            BRANDING["logo_url"],
            "Ledgerly Pay logo",
        )
        assert header.value_of_css_property("border-bottom-color") == "rgba(26, 115, 232, 1)"

        # Accept the engine's suggestion.
        follow(page.find_element(By.LINK_TEXT, "To review"))
        shot("to-review")
        assert "INV-1042 (Initech BV)" in page.page_source
        follow(page.find_element(By.XPATH, "//button[text()='Accept']"))
        assert "Suggestion accepted." in page.find_element(By.TAG_NAME, "main").text
        assert (
            _invoice(session, world["tenant_id"], world["invoices"]["suggested"]).status == "paid"
        )

        # Match the other credit by hand to two invoices found by customer.
        follow(page.find_element(By.LINK_TEXT, "Match by hand"))
        page.find_element(By.NAME, "q").send_keys("Globex")
        follow(page.find_element(By.XPATH, "//button[text()='Search']"))
        shot("match-by-hand")
        for key in ("first", "second"):
            page.find_element(By.ID, f"pick-{world['invoices'][key]}").click()
        follow(page.find_element(By.XPATH, "//button[text()='Match the ticked invoices']"))
        for key in ("first", "second"):
            assert _invoice(session, world["tenant_id"], world["invoices"][key]).status == "paid"

        # Undo one of those payments from the invoices page.
        follow(page.find_element(By.LINK_TEXT, "Invoices"))
        shot("invoices")
        row = page.find_element(By.XPATH, "//tr[td[text()='INV-2002']]")
        follow(row.find_element(By.XPATH, ".//button[text()='Undo']"))
        second = _invoice(session, world["tenant_id"], world["invoices"]["second"])
        assert second.status == "open"

        # Reconnect the expired bank connection: off to the bank's consent page.
        follow(page.find_element(By.LINK_TEXT, "Bank connections"))
        assert "expired" in page.find_element(By.TAG_NAME, "table").text
        follow(page.find_element(By.XPATH, "//button[text()='Reconnect']"))
        # The fake bank consents at once and sends the browser back through Payymo's
        # callback to the tenant's own page: the connection is linked again.
        WebDriverWait(page, 20).until(lambda p: p.current_url.startswith(REDIRECT))
        shot("reconnected")
        with tenant_scope(world["tenant_id"]):
            session.expire_all()
            status = session.scalars(
                select(BankConnection.status).where(BankConnection.id == world["connection_id"])
            ).one()
        assert status == "linked"
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "bank-connections.png",
        "invoices.png",
        "match-by-hand.png",
        "reconnected.png",
        "to-review.png",
    ]
