"""What can go wrong talking to Stripe, as typed exceptions that keep Stripe's own message."""

from __future__ import annotations


class StripeProblem(Exception):
    """Base: Stripe refused or could not answer; ``message`` is Stripe's, ``code`` its code."""

    def __init__(self, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param


class KeyRejected(StripeProblem):
    """The API key is wrong, revoked, or lacks a permission the call needs."""


class CardDeclined(StripeProblem):
    """The card was declined: ``decline_code`` says why; ``payment_intent`` is Stripe's id."""

    def __init__(self, message: str, *, decline_code=None, payment_intent=None, **kwargs):
        super().__init__(message, **kwargs)
        self.decline_code = decline_code
        self.payment_intent = payment_intent


class RateLimited(StripeProblem):
    """Stripe kept answering 429 after our own backoff."""


class Unavailable(StripeProblem):
    """Stripe could not be reached, or answered 5xx, after the library's retries."""


class Refused(StripeProblem):
    """Stripe refused the request as invalid (unknown id, bad parameter, idempotency clash)."""
