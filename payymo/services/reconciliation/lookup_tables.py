"""The look-up tables of open credits and invoices, and what changed in them.

Runs keep ``reconcile_items``, ``reconcile_keys`` and ``reconcile_words`` for the open
credits and invoices (``models.reconcile_index``). Before an incremental run looks
anything up it brings the rows the change log names up to date (``refresh``), keeping
what they were before: an invoice that changed may have been reachable from credits by
its old number, name or amount. A full run rebuilds them whole (``rebuild``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, tuple_, update
from sqlalchemy.orm import Session

from payymo.matching.evidence import TokenReader
from payymo.matching.index import MAX_SAME_AMOUNT, MAX_WORD_POSTINGS, name_words
from payymo.matching.keys import (
    credit_keys,
    invoice_customer,
    invoice_keys,
    links,
    memory_customers,
    reach_key,
)
from payymo.matching.types import InvoiceIn, MatchSettings, PayerMemory, TxnIn
from payymo.models import ReconcileItem, ReconcileKey, ReconcileWord
from payymo.models.reconcile_index import CREDIT, INVOICE
from payymo.services.banking.bulk import insert_rows
from payymo.services.reconciliation.load import (
    ID_CHUNK,
    chunked,
    one_of,
    open_credits,
    open_invoices,
)
from payymo.tenancy import current_tenant_id

WRITE_CHUNK = 100_000


@dataclass
class Refreshed:
    """What a refresh changed, before and after: where to look for affected credits."""

    credits: set[str] = field(default_factory=set)  # changed credits open now
    # Of those, the ones whose open amount is not what the tables held (or new to them).
    resized: set[str] = field(default_factory=set)
    invoice_keys: set[str] = field(default_factory=set)  # changed invoices' keys
    invoice_amounts: set[tuple[str, int]] = field(default_factory=set)  # (currency, open)
    customers: set[tuple[str, str]] = field(default_factory=set)  # (currency, customer)
    # A changed credit's payer group keys, and how many changed credits carry each.
    groups: Counter = field(default_factory=Counter)
    # The same, of the changed credits that joined or left the open ones, or resized:
    # the changes that alter what the rest of their group can be split with.
    moved_groups: Counter = field(default_factory=Counter)
    crossed_words: set[tuple[str, str]] = field(default_factory=set)  # common ↔ narrowing


def keys_of(session: Session, side: str, ids: Collection[str]) -> dict[str, set[str]]:
    """Each id's keys."""
    out: dict[str, set[str]] = defaultdict(set)
    for chunk in chunked(ids):
        stmt = select(ReconcileKey.object_id, ReconcileKey.key).where(
            ReconcileKey.side == side, one_of(session, ReconcileKey.object_id, chunk)
        )
        for object_id, key in session.execute(stmt):
            out[object_id].add(key)
    return out


def items_of(session: Session, side: str, ids: Collection[str]) -> dict[str, tuple[str, int, str]]:
    """Each id's (currency, open amount, customer) as the look-up tables hold them."""
    out = {}
    for chunk in chunked(ids):
        stmt = select(
            ReconcileItem.object_id,
            ReconcileItem.currency,
            ReconcileItem.open_amount,
            ReconcileItem.customer,
        ).where(ReconcileItem.side == side, one_of(session, ReconcileItem.object_id, chunk))
        out.update({row[0]: (row[1], int(row[2]), row[3]) for row in session.execute(stmt)})
    return out


def _forget(session: Session, side: str, ids: Collection[str]) -> None:
    for chunk in chunked(ids):
        for model in (ReconcileKey, ReconcileItem):
            session.execute(
                delete(model)
                .where(model.side == side, one_of(session, model.object_id, chunk))
                .execution_options(synchronize_session=False)
            )


def _write(session: Session, model, rows: list[dict]) -> None:
    for start in range(0, len(rows), WRITE_CHUNK):
        insert_rows(session, model.__table__, rows[start : start + WRITE_CHUNK])


def _credit_rows(credits: list[TxnIn], reader: TokenReader):
    tenant_id = current_tenant_id()
    items, keys, by_id = [], [], {}
    for txn in credits:
        found = credit_keys(txn, reader)
        by_id[txn.id] = found
        items.append(
            {
                "tenant_id": tenant_id,
                "side": CREDIT,
                "object_id": txn.id,
                "currency": txn.currency,
                "open_amount": txn.amount,
                "customer": "",
            }
        )
        keys += [
            {"tenant_id": tenant_id, "side": CREDIT, "object_id": txn.id, "key": key}
            for key in found
        ]
    return items, keys, by_id


def _invoice_rows(invoices: list[InvoiceIn]):
    tenant_id = current_tenant_id()
    items, keys, by_id = [], [], {}
    for inv in invoices:
        found = invoice_keys(inv)
        by_id[inv.id] = found
        items.append(
            {
                "tenant_id": tenant_id,
                "side": INVOICE,
                "object_id": inv.id,
                "currency": inv.currency,
                "open_amount": inv.open_amount,
                "customer": invoice_customer(inv)[:300],
            }
        )
        keys += [
            {"tenant_id": tenant_id, "side": INVOICE, "object_id": inv.id, "key": key}
            for key in found
        ]
    return items, keys, by_id


def _names(keys: Iterable[str]) -> set[tuple[str, str]]:
    """(currency, customer name) of an invoice's ``n:`` keys."""
    out = set()
    for key in keys:
        if key.startswith("n:"):
            _, currency, name = key.split(":", 2)
            out.add((currency, name))
    return out


def _word_pairs(names: Iterable[tuple[str, str]]) -> Counter:
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


def _apply_words(session: Session, delta: Counter) -> set[tuple[str, str]]:
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
    tenant_id = current_tenant_id()
    after = Counter(before)
    fresh, changed, gone = [], [], []
    for (currency, word, name), change in delta.items():
        now = existing.get((currency, word, name), 0) + change
        row = {"tenant_id": tenant_id, "currency": currency, "word": word, "name": name}
        if (currency, word, name) not in existing:
            if now > 0:
                fresh.append(row | {"invoices": now})
                after[(currency, word)] += 1
        elif now <= 0:
            gone.append((currency, word, name))
            after[(currency, word)] -= 1
        else:
            changed.append(row | {"invoices": now})
    if changed:  # one executemany, by primary key
        session.execute(update(ReconcileWord), changed)
    for chunk in chunked(gone):
        session.execute(
            delete(w)
            .where(tuple_(w.currency, w.word, w.name).in_(chunk))
            .execution_options(synchronize_session=False)
        )
    _write(session, ReconcileWord, fresh)
    limit = MAX_WORD_POSTINGS
    return {word for word in words if (before[word] > limit) != (after[word] > limit)}


def refresh(
    session: Session,
    *,
    transaction_ids: Collection[str],
    invoice_ids: Collection[str],
    settings: MatchSettings,
) -> Refreshed:
    """Bring the named credits' and invoices' look-up rows up to date (not committed)."""
    out = Refreshed()
    reader = TokenReader(settings)
    if transaction_ids:
        old_keys = keys_of(session, CREDIT, transaction_ids)
        old_items = items_of(session, CREDIT, transaction_ids)
        credits, _ = open_credits(session, transaction_ids)
        _forget(session, CREDIT, transaction_ids)
        items, keys, new_keys = _credit_rows(credits, reader)
        _write(session, ReconcileItem, items)
        # A credit's reach (``c:`` keys) stays what its last decision found: the run
        # deciding it again (if any) replaces it (``set_reach``).
        tenant_id = current_tenant_id()
        keys += [
            {"tenant_id": tenant_id, "side": CREDIT, "object_id": txn.id, "key": key}
            for txn in credits
            for key in old_keys.get(txn.id, ())
            if key.startswith("c:")
        ]
        _write(session, ReconcileKey, keys)
        out.credits = {t.id for t in credits}
        out.resized = {
            t.id for t in credits if t.id not in old_items or old_items[t.id][1] != t.amount
        }
        moved = out.resized | (set(old_items) - out.credits)
        for object_id in set(old_keys) | set(new_keys):
            both = old_keys.get(object_id, set()) | new_keys.get(object_id, set())
            groups = [k for k in both if k.startswith("g:")]
            out.groups.update(groups)
            if object_id in moved:
                out.moved_groups.update(groups)
    if invoice_ids:
        old_keys = keys_of(session, INVOICE, invoice_ids)
        old_items = items_of(session, INVOICE, invoice_ids)
        invoices = open_invoices(session, invoice_ids)
        _forget(session, INVOICE, invoice_ids)
        items, keys, new_keys = _invoice_rows(invoices)
        _write(session, ReconcileItem, items)
        _write(session, ReconcileKey, keys)
        for found in (*old_keys.values(), *new_keys.values()):
            out.invoice_keys |= found
        for currency, amount, customer in old_items.values():
            out.invoice_amounts.add((currency, amount))
            out.customers.add((currency, customer))
        for item in items:
            out.invoice_amounts.add((item["currency"], item["open_amount"]))
            out.customers.add((item["currency"], item["customer"]))
        words = _word_pairs(n for found in new_keys.values() for n in _names(found))
        words.subtract(_word_pairs(n for found in old_keys.values() for n in _names(found)))
        out.crossed_words = _apply_words(session, words)
    return out


def set_reach(
    session: Session,
    customers: dict[str, set[tuple[str, str]]],
    stored: dict[str, set[str]] | None = None,
) -> None:
    """Make the ``c:`` keys of these credits the customers each reaches now.

    ``stored``: each credit's keys as read during the run; credits whose ``c:`` keys
    are already right are left alone.
    """
    if stored is not None:
        customers = {
            txn_id: found
            for txn_id, found in customers.items()
            if {reach_key(cur, c) for cur, c in found}
            != {k for k in stored.get(txn_id, ()) if k.startswith("c:")}
        }
    k = ReconcileKey
    for chunk in chunked(customers):
        session.execute(
            delete(k)
            .where(k.side == CREDIT, one_of(session, k.object_id, chunk), k.key.like("c:%"))
            .execution_options(synchronize_session=False)
        )
    _write(session, ReconcileKey, _reach_rows(customers))


def _reach_rows(customers: dict[str, set[tuple[str, str]]]) -> list[dict]:
    tenant_id = current_tenant_id()
    return [
        {"tenant_id": tenant_id, "side": CREDIT, "object_id": txn_id, "key": key}
        for txn_id, found in customers.items()
        for key in {reach_key(cur, customer) for cur, customer in found}
    ]


def _full_reach(
    credits: list[TxnIn],
    credit_keys: dict[str, set[str]],
    invoices: list[InvoiceIn],
    invoice_keys: dict[str, set[str]],
    memory: PayerMemory,
    tolerance: int,
) -> dict[str, set[tuple[str, str]]]:
    """Each open credit's customers (``scope.Reach``'s rule, over everything loaded)."""
    customer_of = {inv.id: (inv.currency, invoice_customer(inv)[:300]) for inv in invoices}
    names: dict[tuple[str, str], set[str]] = defaultdict(set)
    for currency, word, name in _word_pairs(
        n for found in invoice_keys.values() for n in _names(found)
    ):
        names[(currency, word)].add(name)
    common = {word for word, found in names.items() if len(found) > MAX_WORD_POSTINGS}
    by_key: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for invoice_id, found in invoice_keys.items():
        for key in found:
            if links(key, common):
                by_key[key].add(customer_of[invoice_id])
    owing: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for inv in invoices:
        owing[inv.currency][inv.open_amount].append(inv.id)
    amounts = {cur: sorted(found) for cur, found in owing.items()}
    out: dict[str, set[tuple[str, str]]] = {}
    for txn in credits:
        reached = {c for key in credit_keys.get(txn.id, ()) for c in by_key.get(key, ())}
        listed = amounts.get(txn.currency, [])
        low = bisect_left(listed, txn.amount - tolerance)
        high = bisect_right(listed, txn.amount)
        owed = [i for value in listed[low:high] for i in owing[txn.currency][value]]
        if len(owed) <= MAX_SAME_AMOUNT:  # more say nothing alone (``amount_matches``)
            reached |= {customer_of[i] for i in owed}
        out[txn.id] = reached | memory_customers(txn, memory)
    return out


def _by_key(row: dict) -> str:
    return row["key"]


def forget_all(session: Session) -> None:
    """Delete the tenant's look-up rows (a rebuild follows)."""
    for model in (ReconcileKey, ReconcileItem, ReconcileWord):
        session.execute(delete(model).execution_options(synchronize_session=False))


def rebuild(
    session: Session,
    *,
    credits: list[TxnIn],
    invoices: list[InvoiceIn],
    settings: MatchSettings,
    memory: PayerMemory,
) -> dict[str, set[tuple[str, str]]]:
    """Replace the tenant's look-up rows with those of these open credits and invoices.

    Returns each credit's customers (``c:`` keys) as written.
    """
    forget_all(session)
    # Key rows are written in key order: the rows a look-up fetches (one key's, say a
    # customer's 40 invoices) share a page or two of the table instead of forty.
    items, keys, credit_keys = _credit_rows(credits, TokenReader(settings))
    _write(session, ReconcileItem, items)
    _write(session, ReconcileKey, sorted(keys, key=_by_key))
    items, keys, by_id = _invoice_rows(invoices)
    _write(session, ReconcileItem, items)
    _write(session, ReconcileKey, sorted(keys, key=_by_key))
    words = _word_pairs(n for found in by_id.values() for n in _names(found))
    tenant_id = current_tenant_id()
    _write(
        session,
        ReconcileWord,
        [
            {"tenant_id": tenant_id, "currency": c, "word": w, "name": n, "invoices": count}
            for (c, w, n), count in words.items()
        ],
    )
    reach = _full_reach(
        credits, credit_keys, invoices, by_id, memory, settings.overpayment_tolerance
    )
    _write(session, ReconcileKey, sorted(_reach_rows(reach), key=_by_key))
    return reach
