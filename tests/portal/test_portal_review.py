"""The portal's review and invoice pages: accept, reject, undo, search, another tenant's ids."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from payymo.models import Invoice, Suggestion, Transaction
from payymo.tenancy import tenant_scope
from tests.reconciliation_helpers import Seed


@pytest.fixture
def desk(make_partner, app, session):
    """A partner's tenant with two invoices and one credit suggested for each; signed in."""
    partner = make_partner("Ledgerly")
    tenant_id = partner.api.post(
        "partner/tenants", json={"name": "Corner Shop Ltd", "currency": "EUR"}
    ).json["tenant"]["id"]
    seed = Seed(session, tenant_id)
    first = seed.invoice("ERP-1", number="INV-1042", customer_name="Initech BV")
    second = seed.invoice("ERP-2", number="INV-2077", customer_name="Globex GmbH")
    credit = seed.transaction(12_300, counterparty_name="INITECH", remittance_information="")
    reasons = [{"code": "payer_name", "text": "The payer's name matches the customer."}]
    take = seed.suggestion(credit, [(first, 12_300)], confidence=0.82, reasons=reasons)
    leave = seed.suggestion(credit, [(second, 12_300)], confidence=0.41, rank=2)
    seed.update(Transaction, credit, match_status="suggested")
    link = partner.api.post(f"partner/tenants/{tenant_id}/portal_sessions", json={}).json
    browser = app.test_client()
    assert browser.get(urlsplit(link["url"]).path).status_code == 302
    return {
        "browser": browser,
        "tenant_id": tenant_id,
        "first": first,
        "credit": credit,
        "take": take,
        "leave": leave,
        "partner": partner,
    }


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _post(desk, path: str, page: str):
    return desk["browser"].post(path, data={"csrf_token": _csrf(page)})


def test_a_suggestion_is_shown_in_words_and_accepted(desk, session):
    page = desk["browser"].get("/portal/review").get_data(as_text=True)
    assert "123.00 EUR" in page and "from INITECH" in page
    assert "INV-1042 (Initech BV)" in page and "82 %" in page
    assert "The payer&#39;s name matches the customer." in page
    accepted = _post(desk, f"/portal/suggestions/{desk['take']}/accept", page)
    assert accepted.status_code == 303
    with tenant_scope(desk["tenant_id"]):
        session.expire_all()
        assert session.get_one(Invoice, desk["first"]).status == "paid"
        assert session.get_one(Suggestion, desk["take"]).status == "accepted"
    after = desk["browser"].get("/portal/review").get_data(as_text=True)
    assert "INV-1042" not in after and "every credit is explained" in after


def test_a_suggestion_rejected_is_not_shown_again(desk, session):
    page = desk["browser"].get("/portal/review").get_data(as_text=True)
    assert _post(desk, f"/portal/suggestions/{desk['leave']}/reject", page).status_code == 303
    after = desk["browser"].get("/portal/review").get_data(as_text=True)
    assert "INV-2077" not in after and "INV-1042" in after
    with tenant_scope(desk["tenant_id"]):
        assert session.get_one(Suggestion, desk["leave"]).status == "rejected"


def test_an_invoice_shows_what_paid_it_and_the_match_can_be_undone(desk, session):
    review = desk["browser"].get("/portal/review").get_data(as_text=True)
    _post(desk, f"/portal/suggestions/{desk['take']}/accept", review)
    page = desk["browser"].get("/portal/invoices?q=initech").get_data(as_text=True)
    assert "INV-1042" in page and "INV-2077" not in page  # the search
    assert "paid" in page and "Undo" in page and "(suggestion," in page
    match_id = re.search(r"/portal/matches/(mat_\w+)/undo", page).group(1)
    assert _post(desk, f"/portal/matches/{match_id}/undo", page).status_code == 303
    with tenant_scope(desk["tenant_id"]):
        session.expire_all()
        assert session.get_one(Invoice, desk["first"]).status == "open"
    after = desk["browser"].get("/portal/invoices").get_data(as_text=True)
    assert "nothing yet" in after


def test_another_tenants_ids_are_not_found_from_the_portal(desk, make_partner, session):
    other = make_partner("Other")
    far = other.api.post("partner/tenants", json={"name": "Far Ltd", "currency": "EUR"})
    seed = Seed(session, far.json["tenant"]["id"])
    invoice = seed.invoice("FAR-1")
    theirs = seed.suggestion(seed.transaction(12_300), [(invoice, 12_300)])
    page = desk["browser"].get("/portal/review").get_data(as_text=True)
    for path in (f"/portal/suggestions/{theirs}/accept", f"/portal/suggestions/{theirs}/reject"):
        answer = _post(desk, path, page)
        assert answer.status_code == 404 and "Not found" in answer.get_data(as_text=True)
    with tenant_scope(far.json["tenant"]["id"]):
        assert session.get_one(Suggestion, theirs).status == "open"


def test_a_credit_is_matched_by_hand_to_two_invoices(desk, session):
    seed = Seed(session, desk["tenant_id"])
    small = seed.invoice("ERP-3", number="INV-3001", customer_name="Initech BV", amount_due=4_300)
    page = desk["browser"].get("/portal/review").get_data(as_text=True)
    form_url = f"/portal/credits/{desk['credit']}/match"
    assert form_url in page
    found = desk["browser"].get(f"{form_url}?q=initech").get_data(as_text=True)
    assert "INV-1042" in found and "INV-3001" in found and "INV-2077" not in found
    by_amount = desk["browser"].get(f"{form_url}?q=4300").get_data(as_text=True)
    assert "INV-3001" in by_amount and "INV-1042" not in by_amount
    sent = desk["browser"].post(
        form_url,
        data={
            "csrf_token": _csrf(found),
            "invoice_id": [desk["first"], small],
            f"amount_{desk['first']}": "8000",
            f"amount_{small}": "4300",
        },
    )
    assert sent.status_code == 303, sent.get_data(as_text=True)
    with tenant_scope(desk["tenant_id"]):
        session.expire_all()
        assert session.get_one(Invoice, small).status == "paid"
        assert session.get_one(Invoice, desk["first"]).amount_paid == 8_000
        assert session.get_one(Transaction, desk["credit"]).match_status == "matched"
    not_a_number = desk["browser"].post(
        form_url,
        data={
            "csrf_token": _csrf(found),
            "invoice_id": [desk["first"]],
            f"amount_{desk['first']}": "x",
        },
    )
    assert not_a_number.status_code == 400 and "minor units" in not_a_number.get_data(as_text=True)
