"""A seeded generator of realistic, messy reconciliation data with ground truth.

``generate(seed, n_transactions, n_invoices)`` gives open invoices of many customers in
several currencies, incoming credits that pay them the way real customers do
(mangled references, abbreviated or misspelt payer names, parent companies paying,
partial, split, combined and over-payments, no reference at all), credits that pay no
invoice (refunds, interest, transfers, payouts, deposits), payer memory for some IBANs,
and for every credit the set of invoice ids it truly pays (empty for unrelated ones).
The same seed always gives the same data.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from benchmarks import matching_text as text
from benchmarks.matching_scenarios import PaymentBuilder
from payymo.matching.names import customer_key, normalize_name
from payymo.matching.types import InvoiceIn, MatchSettings, PayerMemory, TxnIn

CURRENCIES = (("EUR", 0.55, 2), ("GBP", 0.18, 2), ("USD", 0.1, 2), ("CHF", 0.06, 2),
              ("JPY", 0.07, 0), ("BHD", 0.04, 3))  # fmt: skip
PRICE_POINTS = (49, 99, 149, 250, 499, 500, 1000, 1200, 2500)  # in major units
BASE_DATE = dt.date(2024, 6, 1)
IBAN_KNOWN = 0.6  # share of customers whose usual IBAN payer memory has learned
TOLERANCE = 100  # minor units; 1.00 EUR / 100 JPY / 0.100 BHD
CHARGE_TOLERANCE = 2500  # minor units; bank charges up to 25.00 EUR settle the invoice


@dataclass
class Customer:
    """One customer: how it appears on invoices and how it pays."""

    name: str
    currency: str
    exponent: int
    reference: str | None
    iban: str
    key: str = ""
    parent: tuple[str, str] | None = None  # (name, IBAN) of a company that pays for it
    person: bool = False  # a sole trader, named like a person
    invoices: list[int] = field(default_factory=list)


@dataclass
class Dataset:
    """Invoices, credits, settings, memory and the truth for each credit."""

    transactions: list[TxnIn]
    invoices: list[InvoiceIn]
    settings: MatchSettings
    memory: PayerMemory
    truth: dict[str, frozenset[str]]  # transaction id -> invoice ids it pays (empty: none)
    kinds: dict[str, str]  # transaction id -> scenario, for the breakdown


def _customers(rng: random.Random, count: int) -> list[Customer]:
    out = []
    names_without_ref: set[str] = set()
    for i in range(count):
        code, _share, exp = rng.choices(CURRENCIES, weights=[c[1] for c in CURRENCIES])[0]
        ref = f"CUST-{i + 1:05d}" if rng.random() < 0.5 else None
        person = rng.random() < 0.05
        make = text.person_name if person else text.company_name
        name = make(rng)
        while ref is None and normalize_name(name) in names_without_ref:
            name = make(rng)  # without a reference the name is the customer key
        if ref is None:
            names_without_ref.add(normalize_name(name))
        cust = Customer(name, code, exp, ref, text.iban(rng), person=person)
        cust.key = customer_key(reference=ref, name=cust.name, email=None)
        if rng.random() < 0.08:
            cust.parent = (text.company_name(rng), text.iban(rng))
        out.append(cust)
    return out


def _amount(rng: random.Random, exp: int) -> int:
    unit = 10**exp
    scale = 150 if exp == 0 else 1  # yen amounts are larger numbers
    if rng.random() < 0.3:
        return rng.choice(PRICE_POINTS) * unit * scale
    return int(rng.lognormvariate(6.5, 1.1) * unit * scale) + 1


def _invoices(rng: random.Random, customers: list[Customer], n: int) -> list[InvoiceIn]:
    out = []
    for i in range(n):
        cust = customers[rng.randrange(len(customers))] if i >= len(customers) else customers[i]
        issue = BASE_DATE - dt.timedelta(days=rng.randint(0, 150))
        due = issue + dt.timedelta(days=rng.choice((14, 30, 30, 45, 60)))
        amount = _amount(rng, cust.exponent)
        if rng.random() < 0.06:  # partly paid already
            amount = max(1, amount // rng.choice((2, 3, 4)))
        number = f"INV-{1000 + i}" if rng.random() < 0.8 else f"{issue.year}-{i + 1:06d}"
        cust.invoices.append(len(out))
        out.append(InvoiceIn(f"inv_{i:06d}", number, cust.name, None, cust.reference,
                             amount, cust.currency, issue, due))  # fmt: skip
    for cust in customers:
        cust.invoices.sort(key=lambda k: (out[k].due_date, out[k].id))
    return out


def generate(seed: int, n_transactions: int, n_invoices: int) -> Dataset:
    """A deterministic dataset for this seed (about 12 % of credits pay no invoice)."""
    rng = random.Random(seed)
    customers = _customers(rng, max(1, n_invoices // 5))
    invoices = _invoices(rng, customers, n_invoices)
    cust_of = {}
    for cust in customers:
        for k in cust.invoices:
            cust_of[k] = cust
    builder = PaymentBuilder(rng, invoices, cust_of, BASE_DATE, TOLERANCE)
    payable = list(range(len(invoices)))
    rng.shuffle(payable)
    while len(builder.transactions) < n_transactions:
        builder.next_scenario(payable, customers, n_transactions)
    by_iban: dict[str, set[str]] = {}
    by_name: dict[str, set[str]] = {}
    for cust in customers:
        if rng.random() < IBAN_KNOWN:
            by_iban.setdefault(cust.iban, set()).add(cust.key)
        if cust.parent and rng.random() < 0.5:
            by_iban.setdefault(cust.parent[1], set()).add(cust.key)
            by_name.setdefault(normalize_name(cust.parent[0]), set()).add(cust.key)
    memory = PayerMemory(
        by_iban={k: frozenset(v) for k, v in by_iban.items()},
        by_name={k: frozenset(v) for k, v in by_name.items()},
    )
    settings = MatchSettings(overpayment_tolerance=TOLERANCE, charge_tolerance=CHARGE_TOLERANCE)
    txns = builder.transactions[:n_transactions]
    ids = {t.id for t in txns}
    return Dataset(
        transactions=txns,
        invoices=invoices,
        settings=settings,
        memory=memory,
        truth={k: v for k, v in builder.truth.items() if k in ids},
        kinds={k: v for k, v in builder.kinds.items() if k in ids},
    )
