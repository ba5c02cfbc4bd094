"""Banks a tenant can connect, per country, cached for a day in this process."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from integrations.banking import BankProviderError, Institution
from payymo.errors import ProviderError
from payymo.services.banking.providers import provider_for
from payymo.services.banking.wording import describe

TTL_SECONDS = 24 * 3600
_cache: dict[tuple[str, str], tuple[float, list[Institution]]] = {}
_guard = threading.Lock()


def list_institutions(*, session: Session, country: str) -> list[Institution]:
    """The provider's banks in ``country`` (ISO 3166 alpha-2), sorted by name."""
    provider = provider_for(session)
    key = (provider.name, country.upper())
    now = time.monotonic()
    with _guard:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < TTL_SECONDS:
        return hit[1]
    try:
        banks = sorted(provider.institutions(country=country.upper()), key=lambda i: i.name.lower())
    except BankProviderError as exc:
        raise ProviderError(describe(exc), code="bank_provider_error") from exc
    with _guard:
        _cache[key] = (now, banks)
    return banks


def forget() -> None:
    """Empty the cache (tests, or an operator after the provider's list changed)."""
    with _guard:
        _cache.clear()
