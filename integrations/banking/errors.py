"""Typed errors a provider raises; each keeps the provider's own message."""

from __future__ import annotations


class BankProviderError(Exception):
    """Base class: ``message`` in plain words, ``provider_message`` as the provider said it."""

    def __init__(
        self,
        message: str,
        *,
        provider_message: str | None = None,
        status_code: int | None = None,
        provider_type: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.provider_message = provider_message
        self.status_code = status_code
        self.provider_type = provider_type


class RateLimited(BankProviderError):
    """Too many calls; ``retry_after`` is the seconds until the limit resets (None: unknown)."""

    def __init__(self, message: str, *, retry_after: int | None = None, **kw):
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ConsentExpired(BankProviderError):
    """The end user's consent ran out or was withdrawn: the connection needs a new one."""


class AccountSuspended(BankProviderError):
    """The provider suspended access to the account (repeated errors at the bank)."""


class InstitutionError(BankProviderError):
    """The bank, behind the provider, failed or refused to answer."""


class AuthenticationFailed(BankProviderError):
    """The provider refused our own credentials (secret id/key, token)."""


class MalformedData(BankProviderError):
    """The provider answered something that cannot be read as its documented format."""


class ProviderUnavailable(BankProviderError):
    """The provider could not be reached, timed out, or answered 5xx after retries."""


class RequestRejected(BankProviderError):
    """The provider refused the request as invalid (unknown institution, bad date range)."""


class NotFoundAtProvider(RequestRejected):
    """The consent, account or institution does not exist at the provider."""
