"""The bank-data provider a tenant's connections use, built from settings and credentials.

Provider-neutral: the provider package (``integrations.<name>``) says which credentials
it needs; they come from the tenant's own ``ProviderCredential`` (encrypted) or from the
platform's ``PAYYMO_<NAME>_<FIELD>`` settings; ``PAYYMO_<NAME>_BASE_URL`` points the
client at any server (the fake, in development and tests).
"""

from __future__ import annotations

import hashlib
import json
import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.banking import BankProvider
from integrations.banking.registry import UnknownProvider, provider_module
from payymo import runtime, secrets_box
from payymo.errors import PayymoError
from payymo.models import ProviderCredential
from payymo.services.banking.token_store import token_store

_built: dict[tuple, BankProvider] = {}
_guard = threading.Lock()


class ProviderNotConfigured(PayymoError):
    """No credentials for the bank-data provider (503: an operator must set them)."""

    status, type, code = 503, "api_error", "bank_provider_not_configured"


def _env_name(provider: str, field: str) -> str:
    return f"PAYYMO_{provider.upper()}_{field.upper()}"


def credential_fields(provider: str) -> tuple[str, ...]:
    """The names of the secrets ``provider`` needs."""
    return tuple(provider_module(provider).CREDENTIAL_FIELDS)


def platform_credentials(provider: str) -> dict[str, str] | None:
    """The platform's credentials for ``provider`` from settings, or None when incomplete."""
    env = runtime.settings().provider_env
    values = {name: env.get(_env_name(provider, name)) for name in credential_fields(provider)}
    return values if all(values.values()) else None


def tenant_credentials(session: Session, provider: str) -> dict[str, str] | None:
    """The current tenant's own credentials for ``provider``, decrypted, or None."""
    row = session.scalar(select(ProviderCredential).where(ProviderCredential.provider == provider))
    return json.loads(secrets_box.decrypt(row.secret)) if row is not None else None


def provider_for(session: Session, name: str | None = None) -> BankProvider:
    """The provider ``name`` (default: the configured one) for the current tenant."""
    name = name or runtime.settings().bank_provider
    try:
        module = provider_module(name)
    except UnknownProvider as exc:
        raise ProviderNotConfigured(f"Bank provider '{name}' is not available.") from exc
    credentials = tenant_credentials(session, name) or platform_credentials(name)
    if credentials is None:
        needed = ", ".join(_env_name(name, f) for f in module.CREDENTIAL_FIELDS)
        raise ProviderNotConfigured(
            f"Bank connections through {name} are not configured: an operator sets {needed}, "
            f"or the tenant supplies its own with PUT /api/v1/integrations/{name}."
        )
    base_url = runtime.settings().provider_env.get(_env_name(name, "base_url"))
    fingerprint = hashlib.sha256(json.dumps(credentials, sort_keys=True).encode()).hexdigest()
    key = (name, base_url, fingerprint)
    with _guard:
        provider = _built.get(key)
        if provider is None:
            provider = module.create_provider(
                credentials=credentials, base_url=base_url, token_store=token_store()
            )
            _built[key] = provider
    return provider


def forget_providers() -> None:
    """Drop built providers (settings changed, e.g. in tests)."""
    with _guard:
        _built.clear()
