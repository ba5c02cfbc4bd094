"""The look-up tables of open credits and invoices, and what changed in them.

Runs keep ``reconcile_items``, ``reconcile_keys``, ``reconcile_words`` and
``reconcile_name_customers`` for the open credits and invoices
(``models.reconcile_index``). Before an incremental run looks anything up it brings the
rows the change log names up to date (``refresh``), keeping what they were before: an
invoice that changed may have been reachable from credits by its old number, name or
amount. A full run rebuilds them whole (``rebuild``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from payymo.matching.evidence import TokenReader
from payymo.matching.index import MAX_SAME_AMOUNT, MAX_WORD_POSTINGS
from payymo.matching.keys import (
    credit_keys,
    invoice_customer,
    invoice_keys,
    links,
    memory_customers,
    reach_key,
)
from payymo.matching.types import InvoiceIn, MatchSettings, PayerMemory, TxnIn
from payymo.models import ReconcileItem, ReconcileKey, ReconcileNameCustomer, ReconcileWord
from payymo.models.reconcile_index import CREDIT, INVOICE
from payymo.services.banking.bulk import insert_rows
from payymo.services.reconciliation.load import (
    chunked,
    one_of,
    open_credits,
    open_invoices,
)
from payymo.services.reconciliation.name_tables import (
    apply_name_customers,
    apply_words,
    name_customer_counts,
    names_of,
    word_pairs,
)
from payymo.tenancy import current_tenant_id


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


def keys_of(
    session: Session, side: str, ids: Collection[str], *, prefix: str | None = None
) -> dict[str, set[str]]:
    """Each id's keys (those starting with ``prefix`` alone, when given).

    A credit's payer groups are two of its fourteen or so keys: the others are left
    behind in the index scan (1,000 credits: 20 ms instead of 35 warm, 2,000 rows
    back instead of 13,000).
    """
    out: dict[str, set[str]] = defaultdict(set)
    for chunk in chunked(ids):
        stmt = select(ReconcileKey.object_id, ReconcileKey.key).where(
            ReconcileKey.side == side, one_of(session, ReconcileKey.object_id, chunk)
        )
        if prefix is not None:
            stmt = stmt.where(ReconcileKey.key.like(f"{prefix}%"))
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
        insert_rows(session, ReconcileItem.__table__, items)
        # A credit's reach (``c:`` keys) stays what its last decision found: the run
        # deciding it again (if any) replaces it (``set_reach``).
        tenant_id = current_tenant_id()
        keys += [
            {"tenant_id": tenant_id, "side": CREDIT, "object_id": txn.id, "key": key}
            for txn in credits
            for key in old_keys.get(txn.id, ())
            if key.startswith("c:")
        ]
        insert_rows(session, ReconcileKey.__table__, keys)
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
        insert_rows(session, ReconcileItem.__table__, items)
        insert_rows(session, ReconcileKey.__table__, keys)
        for found in (*old_keys.values(), *new_keys.values()):
            out.invoice_keys |= found
        for currency, amount, customer in old_items.values():
            out.invoice_amounts.add((currency, amount))
            out.customers.add((currency, customer))
        for item in items:
            out.invoice_amounts.add((item["currency"], item["open_amount"]))
            out.customers.add((item["currency"], item["customer"]))
        words = word_pairs(n for found in new_keys.values() for n in names_of(found))
        words.subtract(word_pairs(n for found in old_keys.values() for n in names_of(found)))
        out.crossed_words = apply_words(session, words)
        named = name_customer_counts(new_keys, {i["object_id"]: i["customer"] for i in items})
        named.subtract(name_customer_counts(old_keys, {i: c for i, (_, _, c) in old_items.items()}))
        apply_name_customers(session, named)
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
    insert_rows(session, ReconcileKey.__table__, _reach_rows(customers))


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
    for currency, word, name in word_pairs(
        n for found in invoice_keys.values() for n in names_of(found)
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
    for model in (ReconcileKey, ReconcileItem, ReconcileWord, ReconcileNameCustomer):
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
    insert_rows(session, ReconcileItem.__table__, items)
    insert_rows(session, ReconcileKey.__table__, sorted(keys, key=_by_key))
    items, keys, by_id = _invoice_rows(invoices)
    insert_rows(session, ReconcileItem.__table__, items)
    insert_rows(session, ReconcileKey.__table__, sorted(keys, key=_by_key))
    words = word_pairs(n for found in by_id.values() for n in names_of(found))
    tenant_id = current_tenant_id()
    insert_rows(
        session,
        ReconcileWord.__table__,
        [
            {"tenant_id": tenant_id, "currency": c, "word": w, "name": n, "invoices": count}
            for (c, w, n), count in words.items()
        ],
    )
    customer_of = {item["object_id"]: item["customer"] for item in items}
    insert_rows(
        session,
        ReconcileNameCustomer.__table__,
        [
            {"tenant_id": tenant_id, "key": key, "customer": customer, "invoices": count}
            for (key, customer), count in name_customer_counts(by_id, customer_of).items()
        ],
    )
    reach = _full_reach(
        credits, credit_keys, invoices, by_id, memory, settings.overpayment_tolerance
    )
    insert_rows(session, ReconcileKey.__table__, sorted(_reach_rows(reach), key=_by_key))
    return reach
