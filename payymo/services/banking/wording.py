"""Provider errors in plain words, and the connection status each one leads to."""

from __future__ import annotations

import datetime as dt

from integrations.banking import (
    AccountSuspended,
    AuthenticationFailed,
    BankProviderError,
    ConsentExpired,
    InstitutionError,
    MalformedData,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)

# error class → (code, connection status it leads to, or None to keep the status)
_OUTCOMES = (
    (RateLimited, "rate_limited", None),
    (ConsentExpired, "consent_expired", "expired"),
    (AccountSuspended, "account_suspended", "suspended"),
    (AuthenticationFailed, "provider_authentication_failed", None),
    (InstitutionError, "bank_error", None),
    (ProviderUnavailable, "provider_unavailable", None),
    (MalformedData, "provider_malformed_data", None),
    (RequestRejected, "provider_rejected_request", None),
)


def outcome(exc: BankProviderError) -> tuple[str, str | None]:
    """The error code and the connection status (or None) for a provider error."""
    for cls, code, status in _OUTCOMES:
        if isinstance(exc, cls):
            return code, status
    return "provider_error", None


def until(moment: dt.datetime) -> str:
    """A moment as people read it: ``14:05 UTC`` today, else ``28 Nov 14:05 UTC``."""
    now = dt.datetime.now(dt.UTC)
    if moment.date() == now.date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%d %b %H:%M UTC")


def describe(exc: BankProviderError, *, retry_at: dt.datetime | None = None) -> str:
    """A sentence for ``last_error``: what happened and what happens next."""
    if isinstance(exc, RateLimited):
        when = f"until {until(retry_at)}" if retry_at else "for now"
        return f"The bank data provider's daily limit for this account is used up {when}; the next sync waits for it."
    if isinstance(exc, ConsentExpired):
        return "The consent at the bank has expired; reconnect to keep transactions flowing."
    if isinstance(exc, AccountSuspended):
        return "The provider suspended access to this account after repeated errors at the bank; reconnect it."
    if isinstance(exc, AuthenticationFailed):
        return "The bank data provider refused Payymo's credentials; an operator must check them."
    if isinstance(exc, InstitutionError):
        return f"The bank did not answer properly ({exc.message}); the sync is retried later."
    if isinstance(exc, ProviderUnavailable):
        return "The bank data provider could not be reached; the sync is retried later."
    return f"The bank data provider answered unexpectedly ({exc.message})."
