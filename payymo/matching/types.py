"""The plain data the engine reads and the decisions it returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from operator import attrgetter


@dataclass(frozen=True, slots=True)
class TxnIn:
    """An incoming bank transaction still (partly) unallocated."""

    id: str
    amount: int  # what is still unallocated, minor units, > 0 (credits only)
    currency: str
    booked: bool  # pending transactions only get suggestions
    booking_date: dt.date | None
    counterparty_name: str | None
    counterparty_iban: str | None
    remittance: str  # remittance text (and end-to-end id), as the bank gave it


@dataclass(frozen=True, slots=True)
class InvoiceIn:
    """An open or partially paid invoice."""

    id: str
    number: str | None
    customer_name: str | None
    customer_email: str | None
    customer_reference: str | None
    open_amount: int  # amount_due - amount_paid - amount_charged, minor units, > 0
    currency: str
    issue_date: dt.date | None
    due_date: dt.date | None


@dataclass(frozen=True, slots=True)
class MatchSettings:
    """The tenant's matching settings."""

    auto_match_enabled: bool = True
    threshold: float = 0.9
    margin: float = 0.1  # best must beat the runner-up by this much to auto-confirm
    date_window_days: int = 60
    overpayment_tolerance: int = 0  # minor units
    charge_tolerance: int = 0  # minor units a bank charge may leave unpaid and still settle
    reference_pattern: str | None = None  # a tenant regex extracting references
    max_suggestions: int = 3


@dataclass(frozen=True, slots=True)
class PayerMemory:
    """What confirmed matches taught: payer IBAN / payer name → customer keys."""

    by_iban: dict[str, frozenset[str]] = field(default_factory=dict)
    by_name: dict[str, frozenset[str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a candidate scored as it did: a machine code and a sentence."""

    code: str  # reference_exact, amount_exact, payer_name, payer_iban_known, ...
    text: str


@dataclass(frozen=True, slots=True)
class Candidate:
    """A proposed allocation of one transaction to one or more invoices."""

    transaction_id: str
    allocations: tuple[tuple[str, int], ...]  # (invoice_id, amount), amounts > 0
    confidence: float  # 0..1, calibrated: the share of such candidates that are right
    reasons: tuple[Reason, ...]
    score: float = 0.0  # 0..1, the evidence: what the threshold and the margin compare
    # (invoice_id, minor units written off as a bank charge): settles what is left open
    charges: tuple[tuple[str, int], ...] = ()

    @property
    def invoice_ids(self) -> tuple[str, ...]:
        """The invoices this candidate pays."""
        return tuple(invoice_id for invoice_id, _ in self.allocations)

    def charge_for(self, invoice_id: str) -> int:
        """The charge written off on this invoice (0 without one)."""
        return next((charge for i, charge in self.charges if i == invoice_id), 0)


@dataclass(frozen=True, slots=True)
class Decision:
    """What the engine decided for one transaction."""

    transaction_id: str
    auto: Candidate | None  # confirmed automatically
    suggestions: tuple[Candidate, ...]  # best first, at most MatchSettings.max_suggestions


@dataclass(frozen=True, slots=True)
class Horizon:
    """What the engine cannot see in a partial load but must decide as a full load would.

    ``common_words``: (currency, name word) shared by more customer names than
    ``index.MAX_WORD_POSTINGS``; ``crowded_amounts``: (currency, credit amount) owed by more
    open invoices than ``index.MAX_SAME_AMOUNT`` throughout the run; ``crowded_payers``:
    (currency, payer group key) with more open credits than ``splits.MAX_GROUP``.
    """

    common_words: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    crowded_amounts: frozenset[tuple[str, int]] = field(default_factory=frozenset)
    crowded_payers: frozenset[tuple[str, str]] = field(default_factory=frozenset)


def _pickle_by_fields(cls: type) -> None:
    # Runs and decisions cross process boundaries (``services.reconciliation.engine``) by the
    # hundred thousand. Pickled as (class, field values), read by one C-level attrgetter,
    # they pickle and unpickle several times faster than through the generic state
    # protocol of slotted dataclasses.
    fields_of = attrgetter(*cls.__slots__)
    cls.__reduce__ = lambda obj: (cls, fields_of(obj))


for _cls in (TxnIn, InvoiceIn, MatchSettings, PayerMemory, Reason, Candidate, Decision):
    _pickle_by_fields(_cls)
