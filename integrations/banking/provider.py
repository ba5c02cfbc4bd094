"""The protocol every bank-data provider implements, and the token store it may use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from integrations.banking.types import (
    Account,
    Balance,
    Consent,
    Institution,
    TransactionPage,
)


@runtime_checkable
class TokenStore(Protocol):
    """Where a provider caches its access tokens across processes (values may be secret)."""

    def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None when missing or expired."""

    def set(self, key: str, value: str, *, ttl: int) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds."""


@runtime_checkable
class BankProvider(Protocol):
    """A bank-data provider: institutions, consents, accounts, balances, transactions.

    Every method raises a ``integrations.banking.errors.BankProviderError`` subclass on
    failure. Account methods are budgeted by most providers (GoCardless: 4 successful
    calls per account per scope per day); callers plan their calls.
    """

    name: str

    def institutions(self, *, country: str) -> list[Institution]:
        """Banks available in ``country`` (ISO 3166 alpha-2)."""

    def institution(self, institution_id: str) -> Institution:
        """One bank; ``NotFoundAtProvider`` when unknown."""

    def start_consent(
        self,
        *,
        institution_id: str,
        redirect_url: str,
        reference: str,
        max_history_days: int,
        access_days: int,
        language: str | None = None,
    ) -> Consent:
        """Create a consent; the end user follows ``Consent.link`` and lands on ``redirect_url``.

        The provider clamps the day counts to the institution's limits.
        """

    def callback_reference(self, params: Mapping[str, str]) -> str | None:
        """The consent reference carried by the query string of the redirect back to us."""

    def complete_consent(self, consent_id: str, params: Mapping[str, str]) -> Consent:
        """Confirm a consent after the redirect back; answers it with its account ids."""

    def consent(self, consent_id: str) -> Consent:
        """The consent's current status and account ids (the connection status)."""

    def accounts(self, consent_id: str) -> list[str]:
        """The account ids a linked consent grants."""

    def account(self, account_id: str) -> Account:
        """Account metadata and details (IBAN, currency, names)."""

    def balances(self, account_id: str) -> list[Balance]:
        """The account's balances as the bank reports them."""

    def transactions(
        self, account_id: str, *, date_from: dt.date | None, date_to: dt.date | None
    ) -> TransactionPage:
        """Booked and pending transactions in the date range (inclusive)."""

    def revoke(self, consent_id: str) -> None:
        """Withdraw the consent at the provider; a consent already gone is not an error."""
