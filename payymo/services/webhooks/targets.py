"""The deployment's webhook target policy, and URL checks with reasons a person can act on."""

from __future__ import annotations

import ipaddress

from integrations.webhooks.targets import Policy, UnsafeTarget, resolve
from payymo.config import Settings
from payymo.errors import InvalidRequest


def policy(settings: Settings) -> Policy:
    """The SSRF policy the settings describe (production: https, public addresses only)."""
    hosts, networks = set(), []
    for item in settings.webhook_allowed_targets:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item)
    return Policy(
        allow_http=settings.webhook_allow_http,
        allow_private=settings.webhook_allow_private,
        allowed_hosts=frozenset(hosts),
        allowed_networks=tuple(networks),
    )


def check_url(url: str, settings: Settings) -> None:
    """Refuse a URL a webhook may not be sent to (400 naming why); resolves its host."""
    try:
        resolve(url, policy(settings))
    except UnsafeTarget as exc:
        raise InvalidRequest(
            f"The webhook URL cannot be used: {exc}.", param="url", code="url_not_allowed"
        ) from None
