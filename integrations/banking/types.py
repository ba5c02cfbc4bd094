"""Plain, provider-neutral values a bank-data provider answers with."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class ConsentStatus(StrEnum):
    """Where a consent stands; ``LINKED`` is the only one that can be synced."""

    CREATED = "created"
    GIVING_CONSENT = "giving_consent"
    AUTHENTICATING = "authenticating"
    SELECTING_ACCOUNTS = "selecting_accounts"
    GRANTING_ACCESS = "granting_access"
    LINKED = "linked"
    REJECTED = "rejected"
    SUSPENDED = "suspended"
    EXPIRED = "expired"

    @property
    def in_progress(self) -> bool:
        """True while the end user has not finished (or abandoned) the consent."""
        return self in _IN_PROGRESS


_IN_PROGRESS = frozenset(
    {
        ConsentStatus.CREATED,
        ConsentStatus.GIVING_CONSENT,
        ConsentStatus.AUTHENTICATING,
        ConsentStatus.SELECTING_ACCOUNTS,
        ConsentStatus.GRANTING_ACCESS,
    }
)


@dataclass(frozen=True)
class Institution:
    """A bank the provider can connect; day limits are the bank's maximums."""

    id: str
    name: str
    bic: str | None
    countries: tuple[str, ...]
    logo: str | None
    max_history_days: int
    max_access_days: int


@dataclass(frozen=True)
class Consent:
    """A consent (GoCardless: agreement + requisition) and the account ids it grants."""

    id: str
    institution_id: str
    status: ConsentStatus
    link: str
    reference: str
    accounts: tuple[str, ...] = ()
    agreement_id: str | None = None
    max_history_days: int | None = None
    access_days: int | None = None
    created_at: dt.datetime | None = None
    # What the provider itself calls the status (``"LN"``), for logs and support.
    provider_status: str | None = None


@dataclass(frozen=True)
class Account:
    """One bank account a consent grants access to."""

    id: str
    institution_id: str | None
    iban: str | None
    currency: str | None
    name: str | None
    owner_name: str | None
    product: str | None = None
    bic: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class Balance:
    """A balance as the bank reports it; ``amount`` is an exact signed decimal."""

    kind: str
    amount: Decimal
    currency: str
    reference_date: dt.date | None = None


@dataclass(frozen=True)
class BankTransaction:
    """A transaction as the bank reports it; ``amount`` is an exact signed decimal.

    ``id`` is the provider's stable id for the line (GoCardless: ``transactionId``, else
    ``internalTransactionId``), or None: pending lines often have none.
    """

    status: str  # "booked" | "pending"
    amount: Decimal
    currency: str
    id: str | None = None
    booking_date: dt.date | None = None
    value_date: dt.date | None = None
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    remittance_information: str | None = None
    end_to_end_id: str | None = None
    entry_reference: str | None = None
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class MalformedTransaction:
    """A line the provider sent that could not be read; kept to be reported, not imported."""

    status: str
    reason: str
    raw: dict = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class TransactionPage:
    """Booked and pending lines for a date range, plus the lines that could not be read."""

    booked: tuple[BankTransaction, ...] = ()
    pending: tuple[BankTransaction, ...] = ()
    malformed: tuple[MalformedTransaction, ...] = ()
