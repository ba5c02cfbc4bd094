"""A tenant's own credentials for a bank-data provider: checked live, stored encrypted.

Without them the platform's credentials (``PAYYMO_<NAME>_*``) are used. They are never
answered back: reads show which fields are set and their last four characters.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.banking import AuthenticationFailed, BankProviderError
from integrations.banking.registry import UnknownProvider, provider_module
from payymo import runtime, secrets_box
from payymo.errors import InvalidRequest, NotFound, ProviderError
from payymo.models import ProviderCredential
from payymo.services.banking.providers import (
    forget_providers,
    platform_credentials,
    tenant_credentials,
)
from payymo.services.banking.token_store import token_store
from payymo.services.banking.wording import describe

_MAX_LENGTH = 500
# A live call that every provider answers and that needs valid credentials.
CHECK_COUNTRY = "GB"


def _module(provider: str):
    try:
        return provider_module(provider)
    except UnknownProvider:
        raise NotFound(
            f"No bank provider '{provider}'.", param="provider", code="unknown_bank_provider"
        ) from None


def _mask(value: str) -> str:
    return "…" + value[-4:] if len(value) > 8 else "…"


def describe_credentials(*, session: Session, provider: str) -> dict:
    """Which credentials the tenant's connections through ``provider`` use (masked)."""
    module = _module(provider)
    own = tenant_credentials(session, provider)
    source = "tenant" if own else ("platform" if platform_credentials(provider) else None)
    shown = {name: _mask(value) for name, value in (own or {}).items()}
    return {
        "object": "bank_provider_credentials",
        "provider": provider,
        "fields": list(module.CREDENTIAL_FIELDS),
        "configured": source is not None,
        "source": source,
        "credentials": shown,
    }


def _checked(module, provider: str, data: dict) -> dict[str, str]:
    fields = tuple(module.CREDENTIAL_FIELDS)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise InvalidRequest(
            f"Unknown field '{unknown[0]}': {provider} takes {', '.join(fields)}.",
            param=unknown[0],
            code="parameter_unknown",
        )
    for name in fields:
        value = data.get(name)
        if not isinstance(value, str) or not value.strip() or len(value) > _MAX_LENGTH:
            raise InvalidRequest(
                f"{name} is required: a non-empty string of at most {_MAX_LENGTH} characters.",
                param=name,
                code="parameter_missing" if value is None else "parameter_invalid",
            )
    return {name: data[name].strip() for name in fields}


def put_credentials(*, session: Session, provider: str, data: dict) -> dict:
    """Check ``data`` with a live call to the provider, then store it encrypted."""
    module = _module(provider)
    credentials = _checked(module, provider, data)
    client = module.create_provider(
        credentials=credentials, base_url=_base_url(provider), token_store=token_store()
    )
    try:
        client.institutions(country=CHECK_COUNTRY)
    except AuthenticationFailed:
        raise InvalidRequest(
            f"{provider} refused these credentials.", param=None, code="credentials_refused"
        ) from None
    except BankProviderError as exc:
        raise ProviderError(describe(exc), code="bank_provider_error") from exc
    row = session.scalar(select(ProviderCredential).where(ProviderCredential.provider == provider))
    secret = secrets_box.encrypt(json.dumps(credentials, sort_keys=True))
    if row is None:
        session.add(ProviderCredential(provider=provider, secret=secret))
    else:
        row.secret = secret
    session.flush()
    forget_providers()
    return describe_credentials(session=session, provider=provider)


def delete_credentials(*, session: Session, provider: str) -> dict:
    """Forget the tenant's own credentials; the platform's apply again."""
    _module(provider)
    row = session.scalar(select(ProviderCredential).where(ProviderCredential.provider == provider))
    if row is not None:
        session.delete(row)
        session.flush()
    return describe_credentials(session=session, provider=provider)


def _base_url(provider: str) -> str | None:
    return runtime.settings().provider_env.get(f"PAYYMO_{provider.upper()}_BASE_URL")
