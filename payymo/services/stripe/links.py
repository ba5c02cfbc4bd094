"""Linking a tenant's Stripe account: key checked live, key and secret stored encrypted."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.stripe.client import StripeAccount
from integrations.stripe.errors import KeyRejected, StripeProblem
from payymo import runtime, secrets_box
from payymo.errors import InvalidRequest, NotFound, ProviderError
from payymo.models import StripeLink

API_KEY = re.compile(r"(sk|rk)_(test|live)_[0-9A-Za-z]{8,240}")
WEBHOOK_SECRET = re.compile(r"whsec_[0-9A-Za-z+/=]{8,240}")


def key_hint(api_key: str) -> str:
    """The key as shown back: its kind and mode, and its last four characters."""
    kind, mode, _rest = api_key.split("_", 2)
    return f"{kind}_{mode}_…{api_key[-4:]}"


def account(api_key: str) -> StripeAccount:
    """The adapter for a key, pointed at ``PAYYMO_STRIPE_API_BASE`` when set."""
    return StripeAccount(api_key, api_base=runtime.settings().stripe_api_base)


def get_link(session: Session) -> StripeLink | None:
    """The tenant's link, or None."""
    return session.scalars(select(StripeLink)).one_or_none()


def require_link(session: Session) -> StripeLink:
    """The tenant's link, or a 404 that says how to make one."""
    link = get_link(session)
    if link is None:
        raise NotFound(
            "Stripe is not linked: PUT /api/v1/integrations/stripe with your API key first.",
            code="stripe_not_linked",
        )
    return link


def account_of(link: StripeLink) -> StripeAccount:
    """The adapter for a linked account."""
    return account(secrets_box.decrypt(link.api_key))


def link_account(*, session: Session, api_key: str, webhook_secret: str) -> StripeLink:
    """Check the key with a live call, then store key and secret (replacing a link)."""
    if not API_KEY.fullmatch(api_key):
        raise InvalidRequest(
            "api_key must be a Stripe secret or restricted key (sk_… or rk_…, test or live).",
            param="api_key",
        )
    if not WEBHOOK_SECRET.fullmatch(webhook_secret):
        raise InvalidRequest(
            "webhook_secret must be the endpoint's signing secret (whsec_…).",
            param="webhook_secret",
        )
    try:
        account(api_key).check()
    except KeyRejected as exc:
        raise InvalidRequest(
            f"Stripe refused the key: {exc.message}", param="api_key", code="stripe_key_rejected"
        ) from None
    except StripeProblem as exc:
        raise ProviderError(f"Stripe could not check the key now: {exc.message}") from None
    link = get_link(session) or StripeLink(sync_cursors={})
    link.api_key = secrets_box.encrypt(api_key)
    link.key_hint = key_hint(api_key)
    link.livemode = "_live_" in api_key
    link.webhook_secret = secrets_box.encrypt(webhook_secret)
    session.add(link)
    session.flush()
    return link


def unlink(*, session: Session) -> None:
    """Forget the key and secret; payments and payouts already kept stay."""
    link = get_link(session)
    if link is not None:
        session.delete(link)
        session.flush()
