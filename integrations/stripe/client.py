"""One tenant's Stripe: the official ``StripeClient`` behind a small, typed interface.

The library retries network failures and 5xx itself (``max_network_retries``) with an
idempotency key on every POST; it does not retry a 429, so this does, with backoff and
jitter. Every create carries an idempotency key the caller derives from what it is for
(``pay:inv_…:12300``), so a retried job or request never charges twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator

import stripe

from integrations.stripe.errors import (
    CardDeclined,
    KeyRejected,
    RateLimited,
    Refused,
    StripeProblem,
    Unavailable,
)

NETWORK_RETRIES = 2
RATE_LIMIT_RETRIES = 4
BACKOFF = 0.5  # seconds, doubled per 429, plus up to 50 % jitter
PAGE = 100


def _translate(exc: stripe.StripeError) -> StripeProblem:
    message = exc.user_message or str(exc) or "Stripe refused the request."
    code = getattr(exc, "code", None)
    param = getattr(getattr(exc, "error", None), "param", None)
    if isinstance(exc, stripe.CardError):
        error = exc.error
        intent = getattr(error, "payment_intent", None)
        return CardDeclined(
            message,
            code=code,
            decline_code=getattr(error, "decline_code", None),
            payment_intent=getattr(intent, "id", None),
        )
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return KeyRejected(message, code=code)
    if isinstance(exc, stripe.RateLimitError):
        return RateLimited(message, code=code)
    if isinstance(exc, stripe.APIConnectionError) or (exc.http_status or 0) >= 500:
        return Unavailable(message, code=code)
    return Refused(message, code=code, param=param)


class StripeAccount:
    """Calls to one Stripe account, with typed errors and 429 backoff."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        bases = {"api": api_base} if api_base else None
        self._client = stripe.StripeClient(
            api_key, base_addresses=bases, max_network_retries=NETWORK_RETRIES
        )
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 (jitter, not a secret)

    def _call(self, call: Callable):
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                return call()
            except stripe.RateLimitError as exc:
                if attempt == RATE_LIMIT_RETRIES:
                    raise _translate(exc) from None
                delay = BACKOFF * 2**attempt
                self._sleep(delay * (1 + 0.5 * self._rng.random()))
            except stripe.StripeError as exc:
                raise _translate(exc) from None
        raise AssertionError("unreachable")

    def check(self) -> dict:
        """A live call that any working key may make (the balance); answers it as a dict."""
        return self._call(lambda: self._client.v1.balance.retrieve()).to_dict()

    def create_payment_intent(self, params: dict, *, idempotency_key: str) -> dict:
        """A PaymentIntent (confirmed when ``params`` say so); CardDeclined on a decline."""
        options = {"idempotency_key": idempotency_key}
        return self._call(
            lambda: self._client.v1.payment_intents.create(params=params, options=options)
        ).to_dict()

    def retrieve(self, kind: str, object_id: str, *, expand: list[str] | None = None) -> dict:
        """One object: ``kind`` is the client's service name (``payouts``, ``charges``, …)."""
        service = getattr(self._client.v1, kind)
        params = {"expand": expand} if expand else None
        return self._call(lambda: service.retrieve(object_id, params=params)).to_dict()

    def list_page(self, kind: str, params: dict) -> tuple[list[dict], bool]:
        """One page of a list: its objects and whether more follow."""
        service = getattr(self._client.v1, kind)
        page = self._call(lambda: service.list(params=params))
        return [item.to_dict() for item in page.data], bool(page.has_more)

    def list_all(self, kind: str, params: dict | None = None) -> Iterator[dict]:
        """Every object of a list, following Stripe's cursors page by page."""
        service = getattr(self._client.v1, kind)
        query = {"limit": PAGE, **(params or {})}
        while True:
            page = self._call(lambda q=dict(query): service.list(params=q))
            items = [item.to_dict() for item in page.data]
            yield from items
            if not page.has_more or not items:
                return
            query["starting_after"] = items[-1]["id"]


def verify_event(payload: bytes, header: str, secret: str) -> dict:
    """A webhook event from Stripe, verified on the raw body; raises ``Refused`` if not."""
    try:
        return stripe.Webhook.construct_event(payload, header, secret).to_dict()
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise Refused(f"The Stripe-Signature does not verify: {exc}") from None
