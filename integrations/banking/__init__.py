"""The provider-neutral bank-data interface: plain types, the protocol, typed errors.

A bank-data provider (GoCardless Bank Account Data today; Enable Banking, SimpleFIN …
tomorrow) is one package under ``integrations/`` exposing ``create_provider`` (see
``registry``). Payymo's models, services, API and jobs speak only this interface.
Nothing here knows of Flask or the database.
"""

from integrations.banking.errors import (
    AccountSuspended,
    AuthenticationFailed,
    BankProviderError,
    ConsentExpired,
    InstitutionError,
    MalformedData,
    NotFoundAtProvider,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)
from integrations.banking.provider import BankProvider, TokenStore
from integrations.banking.types import (
    Account,
    Balance,
    BankTransaction,
    Consent,
    ConsentStatus,
    Institution,
    MalformedTransaction,
    TransactionPage,
)

__all__ = [
    "Account",
    "AccountSuspended",
    "AuthenticationFailed",
    "Balance",
    "BankProvider",
    "BankProviderError",
    "BankTransaction",
    "Consent",
    "ConsentExpired",
    "ConsentStatus",
    "Institution",
    "InstitutionError",
    "MalformedData",
    "MalformedTransaction",
    "NotFoundAtProvider",
    "ProviderUnavailable",
    "RateLimited",
    "RequestRejected",
    "TokenStore",
    "TransactionPage",
]
