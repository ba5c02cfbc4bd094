"""The look-up tables of customer names, kept with the other look-up tables.

- ``reconcile_words``: which customer names share a name word, each with its count of
  open invoices. A word shared by more than ``MAX_WORD_POSTINGS`` names never narrows a
  search, and a credit carrying a word that crossed that line either way is decided
  again (``apply_words``).
- ``reconcile_name_customers``: the customers whose open invoices carry each name key
  (``n:``, ``w:``), each with its count: a payer's name reaches their whole pools.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from payymo.matching.index import MAX_WORD_POSTINGS, name_words
from payymo.matching.keys import NAME_PREFIXES
from payymo.models import ReconcileNameCustomer, ReconcileWord
from payymo.services.banking.bulk import insert_rows
from payymo.services.reconciliation.load import ID_CHUNK, chunked, one_of
from payymo.tenancy import current_tenant_id

_WORD_COLUMNS = ("currency", "word", "name")
_NAME_COLUMNS = ("key", "customer")


def names_of(keys: Iterable[str]) -> set[tuple[str, str]]:
    """(currency, customer name) of an invoice's ``n:`` keys."""
    out = set()
    for key in keys:
        if key.startswith("n:"):
            _, currency, name = key.split(":", 2)
            out.add((currency, name))
    return out


def word_pairs(names: Iterable[tuple[str, str]]) -> Counter:
    """(currency, word, name) of each word of these names, counted."""
    return Counter(
        (currency, word, name[:255])
        for currency, name in names
        for word in name_words(name)
        if len(word) <= 255
    )


def _by_currency(words: Iterable[tuple[str, str]]) -> list[tuple[str, list[list[str]]]]:
    """(currency, chunks of its words), for IN lists the (currency, word) index answers."""
    grouped: dict[str, set[str]] = defaultdict(set)
    for currency, word in words:
        grouped[currency].add(word)
    return [(currency, list(chunked(found))) for currency, found in sorted(grouped.items())]


def word_name_counts(session: Session, words: Collection[tuple[str, str]]) -> dict:
    """(currency, word) → how many customer names share it (open invoices)."""
    counts: dict[tuple[str, str], int] = dict.fromkeys(words, 0)
    w = ReconcileWord
    for currency, chunks in _by_currency(words):
        for chunk in chunks:
            stmt = (
                select(w.word, func.count())
                .where(w.currency == currency, one_of(session, w.word, chunk))
                .group_by(w.word)
            )
            counts.update({(currency, word): n for word, n in session.execute(stmt)})
    return counts


def _apply_counts(
    session: Session, model, columns: tuple[str, ...], delta: Counter, existing: dict
) -> tuple[list[tuple], list[tuple]]:
    """Apply +/- ``invoices`` counts to ``model``'s rows keyed by ``columns``.

    ``existing``: the current count of each key of ``delta`` that has a row. Answers the
    keys whose rows were added and those whose rows went.
    """
    tenant_id = current_tenant_id()
    fresh, changed, added, gone = [], [], [], []
    for key, change in delta.items():
        now = existing.get(key, 0) + change
        row = {"tenant_id": tenant_id, **dict(zip(columns, key, strict=True)), "invoices": now}
        if key not in existing:
            if now > 0:
                fresh.append(row)
                added.append(key)
        elif now <= 0:
            gone.append(key)
        else:
            changed.append(row)
    if changed:  # one executemany, by primary key
        session.execute(update(model), changed)
    by_key = tuple_(*(getattr(model, column) for column in columns))
    for chunk in chunked(gone):
        session.execute(
            delete(model).where(by_key.in_(chunk)).execution_options(synchronize_session=False)
        )
    insert_rows(session, model.__table__, fresh)
    return added, gone


def apply_words(session: Session, delta: Counter) -> set[tuple[str, str]]:
    """Apply +/- invoice counts per (currency, word, name); the words that crossed over."""
    delta = Counter({k: v for k, v in delta.items() if v})
    if not delta:
        return set()
    words = {(cur, word) for cur, word, _ in delta}
    w = ReconcileWord
    # Counted in the database: reading every name of a word shared by the tenant's
    # customers ("gmbh": 5,000 rows) only to count them took 0.1 s of a 1.8 s run. Runs
    # take turns per tenant, and only runs write these rows: the two reads agree.
    before = Counter(word_name_counts(session, words))
    existing: dict[tuple[str, str, str], int] = {}
    for currency, chunks in _by_currency(words):
        names = sorted({name for cur, _word, name in delta if cur == currency})
        # (A bulk change's names, more than an IN list takes: its words' rows, all.)
        few = [one_of(session, w.name, names)] if len(names) <= ID_CHUNK else []
        for chunk in chunks:
            stmt = select(w.word, w.name, w.invoices).where(
                w.currency == currency, one_of(session, w.word, chunk), *few
            )
            for word, name, count in session.execute(stmt):
                if (currency, word, name) in delta:
                    existing[(currency, word, name)] = count
    added, removed = _apply_counts(session, ReconcileWord, _WORD_COLUMNS, delta, existing)
    after = Counter(before)
    after.update((currency, word) for currency, word, _name in added)
    after.subtract((currency, word) for currency, word, _name in removed)
    limit = MAX_WORD_POSTINGS
    return {word for word in words if (before[word] > limit) != (after[word] > limit)}


def name_customer_counts(
    keys: dict[str, set[str]], customer_of: dict[str, str]
) -> Counter[tuple[str, str]]:
    """(name key, customer) → how many of these invoices carry the key."""
    return Counter(
        (key, customer_of[object_id])
        for object_id, found in keys.items()
        if object_id in customer_of
        for key in found
        if key.startswith(NAME_PREFIXES)
    )


def apply_name_customers(session: Session, delta: Counter) -> None:
    """Apply +/- invoice counts per (name key, customer)."""
    delta = Counter({k: v for k, v in delta.items() if v})
    if not delta:
        return
    m = ReconcileNameCustomer
    customers = sorted({customer for _key, customer in delta})
    # A common word's customers are thousands: read only the rows this change touches.
    few = [one_of(session, m.customer, customers)] if len(customers) <= ID_CHUNK else []
    existing: dict[tuple[str, str], int] = {}
    for chunk in chunked(sorted({key for key, _customer in delta})):
        stmt = select(m.key, m.customer, m.invoices).where(one_of(session, m.key, chunk), *few)
        for key, customer, count in session.execute(stmt):
            if (key, customer) in delta:
                existing[(key, customer)] = count
    _apply_counts(session, m, _NAME_COLUMNS, delta, existing)


def name_customers(session: Session, keys: Collection[str]) -> Iterable[tuple[str, str, str]]:
    """(key, currency, customer) of each customer whose open invoices carry a name key."""
    m = ReconcileNameCustomer
    for chunk in chunked(keys):
        for key, customer in session.execute(
            select(m.key, m.customer).where(one_of(session, m.key, chunk))
        ):
            yield key, key.split(":", 2)[1], customer
