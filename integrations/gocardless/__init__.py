"""GoCardless Bank Account Data v2: a client implementing ``integrations.banking``.

``create_provider`` is what Payymo's provider registry calls; ``fake/`` holds a server
speaking the same wire format for tests and the embedded default.
"""

from __future__ import annotations

from collections.abc import Mapping

from integrations.banking import TokenStore
from integrations.gocardless.http import Client
from integrations.gocardless.provider import GoCardlessProvider
from integrations.gocardless.tokens import MemoryTokenStore, Tokens

CREDENTIAL_FIELDS = ("secret_id", "secret_key")
DEFAULT_BASE_URL = "https://bankaccountdata.gocardless.com/api/v2"


def create_provider(
    *,
    credentials: Mapping[str, str],
    base_url: str | None = None,
    token_store: TokenStore | None = None,
    timeout: tuple[float, float] = (3.05, 30.0),
    **options,
) -> GoCardlessProvider:
    """A provider for ``credentials`` (secret_id, secret_key) against ``base_url``."""
    url = (base_url or DEFAULT_BASE_URL).rstrip("/")
    client = Client(url, timeout=timeout, **options)
    tokens = Tokens(
        client,
        secret_id=credentials["secret_id"],
        secret_key=credentials["secret_key"],
        store=token_store or MemoryTokenStore(),
    )
    client.tokens = tokens
    return GoCardlessProvider(client)


__all__ = ["CREDENTIAL_FIELDS", "DEFAULT_BASE_URL", "GoCardlessProvider", "create_provider"]
