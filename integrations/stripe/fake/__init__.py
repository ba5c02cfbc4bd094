"""A fake Stripe API server (WSGI) that the real ``stripe`` library talks to in tests.

``FakeStripe`` holds accounts keyed by API key and a control API (settle a day's charges
into a payout, open and close disputes, fail a payout, 429s on demand, send signed
webhooks); ``serve_in_thread`` runs it on loopback; ``main`` is ``payymo fake-stripe``.
"""

from integrations.stripe.fake.ledger import Ledger, StripeFailure
from integrations.stripe.fake.server import FakeStripe, LocalFake, main, serve_in_thread, sign

__all__ = [
    "FakeStripe",
    "Ledger",
    "LocalFake",
    "StripeFailure",
    "main",
    "serve_in_thread",
    "sign",
]
