"""Stripe fixtures: a tenant linked to an account of the fake, and signed event posts."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

import pytest

from integrations.stripe.fake import sign

WEBHOOK_SECRET = "whsec_testSecretForPayymo1234"


@dataclass
class Linked:
    """A tenant's API client linked to a fake Stripe account."""

    api: object
    tenant_id: str
    key: str
    fake: object

    @property
    def ledger(self):
        return self.fake.ledger(self.key)

    def post_event(self, event: dict, *, secret: str = WEBHOOK_SECRET, stamp=None):
        """POST one event to the app's Stripe webhook, signed as Stripe signs it."""
        body = json.dumps(event).encode()
        header = sign(secret, body, int(stamp if stamp is not None else time.time()))
        return self.api.client.post(
            f"/webhooks/stripe/{self.tenant_id}",
            data=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    def post_new_events(self) -> list:
        """Every event of the account not posted yet, in order."""
        posted = getattr(self, "_posted", 0)
        events = self.ledger.events[posted:]
        self._posted = len(self.ledger.events)
        return [self.post_event(e) for e in events]


def link(api, tenant_id: str, fake) -> Linked:
    """Link the tenant to a new account of the fake through the API."""
    account = fake.new_account()
    response = api.request(
        "PUT",
        "integrations/stripe",
        json={"api_key": account.key, "webhook_secret": WEBHOOK_SECRET},
    )
    assert response.status_code == 200, response.json
    return Linked(api, tenant_id, account.key, fake)


@pytest.fixture
def linked(api, tenant, fake_stripe) -> Linked:
    return link(api, tenant.tenant_id, fake_stripe)
