"""Indexes built once per reconcile call, so no transaction ever scans every invoice."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence

from payymo.matching.charges import is_plausible_charge
from payymo.matching.names import customer_key, normalize_name, plain_name
from payymo.matching.references import (
    core_is_specific,
    near_core,
    normalize_reference,
    reference_forms,
)
from payymo.matching.scoring import date_span
from payymo.matching.types import Horizon, InvoiceIn

MIN_CORE_DIGITS = 3  # a bare number shorter than this is too common to point at an invoice
MAX_WORD_POSTINGS = 300  # name words shared by more customers than this do not narrow
MAX_SAME_AMOUNT = 50  # an amount owed on more invoices than this says nothing alone
_FAR = dt.date.max.toordinal()


def name_words(name: str) -> set[str]:
    """The words of a normalised name worth indexing, plus their first four letters."""
    words = {w for w in name.split() if len(w) >= 3}
    return words | {w[:4] for w in words if len(w) > 4}


class InvoiceIndex:
    """Look-ups from references, customers, amounts and names to invoice positions."""

    def __init__(
        self, invoices: Sequence[InvoiceIn], tolerance: int, horizon: Horizon | None = None
    ) -> None:
        self.invoices = list(invoices)
        # A partial load's view of the whole tenant (``types.Horizon``); a full one needs none.
        self.horizon = horizon or Horizon()
        self.remaining = [inv.open_amount for inv in self.invoices]
        self.keys: list[str] = []
        self.names: list[str] = []
        self.plains: list[str] = []  # customer names with their legal form (plain_name)
        self.cores: list[str] = []  # a number's core when a one-character slip counts, else ""
        self.dates: list[tuple[int, int] | None] = []  # scoring.date_span of each invoice
        self.order: list[tuple[int, str]] = []  # oldest first: due (else issue) date, id
        self.by_ref: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.by_core: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.by_customer_ref: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.by_customer: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.by_amount: dict[tuple[str, int], set[int]] = defaultdict(set)
        # (currency, customer, amount left) → invoices: a customer's pool owing exactly an
        # amount without scanning the pool (hundreds of invoices, asked per credit).
        self.by_customer_owing: dict[tuple[str, str, int], set[int]] = defaultdict(set)
        self.bucket = tolerance + 1
        self.amounts_in_bucket: dict[tuple[str, int], set[int]] = defaultdict(set)
        self.by_name: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.by_word: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._customer_refs: dict[str, str] = {}
        people: dict[tuple, tuple[str, str]] = {}  # (ref, name, email) -> (key, name)
        for i, inv in enumerate(self.invoices):
            who = (inv.customer_reference, inv.customer_name, inv.customer_email)
            if who not in people:
                people[who] = (
                    customer_key(reference=who[0], name=who[1], email=who[2]),
                    normalize_name(inv.customer_name),
                )
            self._add(i, inv, *people[who])
        for positions in self.by_customer.values():
            positions.sort(key=self.order.__getitem__)

    def _add(self, i: int, inv: InvoiceIn, key: str, name: str) -> None:
        cur = inv.currency
        self.keys.append(key)
        self.names.append(name)
        self.plains.append(plain_name(inv.customer_name))
        self.dates.append(date_span(inv))
        when = inv.due_date or inv.issue_date
        self.order.append((when.toordinal() if when else _FAR, inv.id))
        full, core = reference_forms(inv.number) if inv.number else ("", "")
        self.cores.append(core if near_core(core) else "")
        if full:
            self.by_ref[(cur, full)].append(i)
            if core and core != full and core_is_specific(core, MIN_CORE_DIGITS):
                self.by_core[(cur, core)].append(i)
        if inv.customer_reference:
            ref = self._customer_refs.get(inv.customer_reference)
            if ref is None:
                ref = self._customer_refs[inv.customer_reference] = normalize_reference(
                    inv.customer_reference
                )
            if core_is_specific(ref, MIN_CORE_DIGITS) or len(ref) >= 5:
                self.by_customer_ref[(cur, ref)].add(key)
        self.by_customer[(cur, key)].append(i)
        self.by_customer_owing[(cur, key, inv.open_amount)].add(i)
        self._index_amount(i, inv.open_amount)
        if name:
            names = self.by_name[(cur, name)]
            if not names:
                for word in name_words(name):
                    self.by_word[(cur, word)].add(name)
            names.add(key)

    def _index_amount(self, i: int, amount: int) -> None:
        cur = self.invoices[i].currency
        self.by_amount[(cur, amount)].add(i)
        self.amounts_in_bucket[(cur, amount // self.bucket)].add(amount)

    def consume(self, i: int, amount: int) -> None:
        """Take an auto allocation off an invoice's open amount (and move it in the index)."""
        cur = self.invoices[i].currency
        old = self.remaining[i]
        self.by_amount[(cur, old)].discard(i)
        self.remaining[i] = old - amount
        self.by_customer_owing[(cur, self.keys[i], old)].discard(i)
        self.by_customer_owing[(cur, self.keys[i], old - amount)].add(i)
        if self.remaining[i] > 0:
            self._index_amount(i, self.remaining[i])

    def amount_matches(self, currency: str, amount: int, tolerance: int) -> list[int]:
        """Open invoices owing ``amount - tolerance .. amount``; none when too many do."""
        if (currency, amount) in self.horizon.crowded_amounts:
            return []
        found: list[int] = list(self.by_amount.get((currency, amount), ()))
        if tolerance > 0:
            low = amount - tolerance
            for b in range(low // self.bucket, amount // self.bucket + 1):
                for value in self.amounts_in_bucket.get((currency, b), ()):
                    if low <= value < amount:
                        found += self.by_amount.get((currency, value), ())
        return found if len(found) <= MAX_SAME_AMOUNT else []

    def customer_invoices(self, currency: str, key: str, limit: int) -> list[int]:
        """A customer's open invoices, oldest first, at most ``limit``."""
        out: list[int] = []
        for i in self.by_customer.get((currency, key), ()):
            if self.remaining[i] > 0:
                out.append(i)
                if len(out) >= limit:
                    break
        return out

    def customer_amount_matches(self, currency: str, key: str, amount: int, tolerance: int):
        """A customer's open invoices owing ``amount - tolerance .. amount`` (any age)."""
        if not tolerance:
            found = self.by_customer_owing.get((currency, key, amount), ())
            return sorted(found, key=self.order.__getitem__) if len(found) > 1 else list(found)
        low = amount - tolerance
        positions = self.by_customer.get((currency, key), ())
        return [i for i in positions if low <= self.remaining[i] <= amount]

    def customer_charge_matches(self, currency: str, key: str, amount: int) -> list[int]:
        """A customer's open invoices that ``amount`` pays less a plausible bank charge."""
        positions = self.by_customer.get((currency, key), ())
        return [
            i
            for i in positions
            if self.remaining[i] > amount
            and is_plausible_charge(self.remaining[i] - amount, self.remaining[i], currency)
        ]

    def name_candidates(self, currency: str, payer: str) -> set[str]:
        """Distinct customer names sharing a word (or a word's first four letters) with payer."""
        found: set[str] = set()
        common = self.horizon.common_words
        for word in name_words(payer):
            if (currency, word) in common:
                continue
            names = self.by_word.get((currency, word))
            if names and len(names) <= MAX_WORD_POSTINGS:
                found |= names
        return found
