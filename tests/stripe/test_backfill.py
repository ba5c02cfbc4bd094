"""POST /stripe/sync: payments and payouts fetched from Stripe's lists, resumable."""

from __future__ import annotations

from collections import Counter

import pytest

from integrations.stripe.errors import Unavailable
from payymo.db import utcnow
from payymo.services.stripe import backfill
from payymo.services.stripe.links import account_of, get_link
from payymo.tenancy import tenant_scope
from tasks.stripe import backfill as backfill_job
from tests.helpers import invoice_body


def _paid_in_stripe(linked, invoice_id=None, amount=1_000) -> dict:
    params = {
        "amount": str(amount),
        "currency": "eur",
        "payment_method": "pm_card_visa",
        "confirm": "true",
    }
    if invoice_id:
        params["metadata"] = {"invoice_id": invoice_id}
    return linked.ledger.create_payment_intent(params)


def test_a_sync_brings_in_what_webhooks_never_told(api, linked):
    invoice = api.post("invoices", json=invoice_body(amount_due=1_000)).json
    _paid_in_stripe(linked, invoice["id"])
    _paid_in_stripe(linked)
    linked.ledger.settle()
    response = api.post("stripe/sync")
    assert response.status_code == 202 and response.json["type"] == "stripe_sync"
    backfill_job(linked.tenant_id, response.json["id"])  # what a worker does (no-op if done)
    assert len(api.get("stripe/payments").json["data"]) == 2
    assert len(api.get("stripe/payouts").json["data"]) == 1
    assert api.get(f"invoices/{invoice['id']}").json["status"] == "paid"
    assert api.get("integrations/stripe").json["last_synced_at"] is not None
    job = api.get(f"jobs/{response.json['id']}").json
    assert job["status"] == "succeeded"


def test_a_sync_stopped_by_an_outage_resumes_where_it_was(linked, session, monkeypatch):
    import time

    monkeypatch.setattr(time, "sleep", lambda _s: None)  # the library's own retry pauses
    made = [_paid_in_stripe(linked)["id"] for _ in range(5)]
    with tenant_scope(linked.tenant_id):
        link = get_link(session)
        stripe = account_of(link)

        def page():
            out = backfill.walk_page(
                session=session,
                stripe=stripe,
                link=link,
                kind="payment_intents",
                now=utcnow(),
                page_size=2,
            )
            session.commit()
            return out

        assert page() == (2, True)
        linked.fake.fail_next(10, status=500)
        with pytest.raises(Unavailable):
            page()
        session.rollback()
        linked.fake.faults.clear()
        while page()[1]:
            pass
    fetched = Counter(
        path.rsplit("/", 1)[1]
        for method, path in linked.fake.requests
        if method == "GET" and path.startswith("/v1/payment_intents/")
    )
    # Each fetched once: the walk resumed from its cursor instead of starting again.
    assert [fetched[intent] for intent in made] == [1] * len(made)


def test_sync_needs_a_linked_stripe(api):
    response = api.post("stripe/sync")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "stripe_not_linked"
