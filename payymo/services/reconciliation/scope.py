"""Which credits an incremental run decides, and which invoices it hands the engine.

The rule that keeps an incremental run's decisions equal to a full run's: a credit is
decided again when anything it could look at changed (itself, an invoice it can reach,
its payer group, what payer memory says of its payer), and the engine gets every invoice
it could look at for the credits it decides. Both directions go through the look-up
tables (``lookup_tables``) and indexed amount ranges; neither reads every open row.

- ``affected``: the credits a set of changes can reach.
- ``with_payer_groups``: credits come with their whole payer group (split payments are
  found within a group), unless the group is too large to count (``crowded``).
- ``reachable``: the invoices the engine could look at for some credits, plus what it
  cannot see but must know (``types.Horizon``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from payymo.matching.index import MAX_SAME_AMOUNT, MAX_WORD_POSTINGS
from payymo.matching.keys import links, memory_customers, reach_key
from payymo.matching.splits import MAX_GROUP
from payymo.matching.types import PayerMemory, TxnIn
from payymo.models import PayerMemory as PayerMemoryRow
from payymo.models import ReconcileItem, ReconcileKey
from payymo.models.reconcile_index import CREDIT, INVOICE
from payymo.services.reconciliation.load import chunked
from payymo.services.reconciliation.lookup_tables import (
    Refreshed,
    items_of,
    keys_of,
    word_name_counts,
)

# An auto match allocates a few invoices; a range owed by more than this many more than
# MAX_SAME_AMOUNT per credit decided stays too crowded for the whole run.
CROWD_MARGIN_PER_CREDIT = 20
RANGE_CHUNK = 200


def with_keys(session: Session, side: str, keys: Collection[str]) -> set[str]:
    """Ids on ``side`` carrying any of ``keys``."""
    out: set[str] = set()
    for chunk in chunked(keys):
        stmt = select(ReconcileKey.object_id).where(
            ReconcileKey.side == side, ReconcileKey.key.in_(chunk)
        )
        out.update(session.scalars(stmt))
    return out


def common_words(
    session: Session, keys: Iterable[str], counts: dict | None = None
) -> set[tuple[str, str]]:
    """(currency, word) of the ``w:`` keys that too many customer names share to narrow.

    ``counts`` remembers the counts already read (they hold for the rest of a run).
    """
    counts = {} if counts is None else counts
    words = set()
    for key in keys:
        if key.startswith("w:"):
            _, currency, word = key.split(":", 2)
            words.add((currency, word))
    missing = words - counts.keys()
    if missing:
        counts.update(word_name_counts(session, missing))
    return {word for word in words if counts[word] > MAX_WORD_POSTINGS}


def _linking(keys: Iterable[str], common: set[tuple[str, str]]) -> set[str]:
    return {key for key in keys if links(key, common)}


def _amount_filters(ranges: set[tuple[str, int, int]]):
    """WHERE clauses covering (currency, low, high) ranges, a few hundred at a time.

    Exact amounts (the default: no tolerance) become one ``IN`` list per currency, which
    the (currency, open_amount) index answers by probes; real ranges are OR-ed.
    """
    exact: dict[str, set[int]] = defaultdict(set)
    spans = []
    for currency, low, high in ranges:
        if low == high:
            exact[currency].add(low)
        else:
            spans.append((currency, low, high))
    for currency, amounts in sorted(exact.items()):
        for chunk in chunked(amounts):
            yield and_(ReconcileItem.currency == currency, ReconcileItem.open_amount.in_(chunk))
    for chunk in chunked(spans, RANGE_CHUNK):
        yield or_(
            *(
                and_(
                    ReconcileItem.currency == currency,
                    ReconcileItem.open_amount >= low,
                    ReconcileItem.open_amount <= high,
                )
                for currency, low, high in chunk
            )
        )


def _in_ranges(session: Session, side: str, ranges: set[tuple[str, int, int]]) -> set[str]:
    out: set[str] = set()
    for where in _amount_filters(ranges):
        stmt = select(ReconcileItem.object_id).where(ReconcileItem.side == side, where)
        out.update(session.scalars(stmt))
    return out


def _memory_payers(session: Session, customers: set[tuple[str, str]]) -> set[str]:
    """``p:`` keys of the payers memory ties to these customers."""
    keys = {customer for _currency, customer in customers}
    out = set()
    for chunk in chunked(keys):
        stmt = select(PayerMemoryRow.kind, PayerMemoryRow.value).where(
            PayerMemoryRow.customer_key.in_(chunk)
        )
        out.update(f"p:{kind}:{value}" for kind, value in session.execute(stmt))
    return out


def affected_by_invoices(
    session: Session,
    *,
    keys: set[str],
    amounts: set[tuple[str, int]],
    customers: set[tuple[str, str]],
    tolerance: int,
    counts: dict | None = None,
) -> set[str]:
    """Open credits that could reach invoices with these keys, amounts or customers.

    A customer counts whole: a credit that reaches any of its invoices looks at its pool
    (``InvoiceIndex.by_customer``), so a change to one of them can change its decision.
    The customers a credit reaches are kept with it (``c:`` keys, ``reach_keys``).
    """
    common = common_words(session, keys, counts)
    credits = with_keys(session, CREDIT, _linking(keys, common))
    # a credit of A reaches invoices owing A - tolerance .. A
    ranges = {(cur, amount, amount + tolerance) for cur, amount in amounts if amount > 0}
    credits |= _in_ranges(session, CREDIT, ranges)
    credits |= with_keys(session, CREDIT, {reach_key(cur, c) for cur, c in customers})
    credits |= with_keys(session, CREDIT, _memory_payers(session, customers))
    return credits


def affected(
    session: Session, *, refreshed: Refreshed, payers: set[str], tolerance: int
) -> set[str]:
    """The open credits a run's changes can reach."""
    credits = set(refreshed.credits)
    credits |= with_keys(session, CREDIT, {f"p:{payer}" for payer in payers})
    credits |= with_keys(
        session, CREDIT, {f"w:{cur}:{word}" for cur, word in refreshed.crossed_words}
    )
    if refreshed.invoice_keys or refreshed.customers or refreshed.invoice_amounts:
        credits |= affected_by_invoices(
            session,
            keys=refreshed.invoice_keys,
            amounts=refreshed.invoice_amounts,
            customers=refreshed.customers,
            tolerance=tolerance,
        )
    return credits


def _group_sizes(session: Session, keys: Collection[str]) -> dict[str, int]:
    sizes = dict.fromkeys(keys, 0)
    for chunk in chunked(keys):
        stmt = (
            select(ReconcileKey.key, func.count())
            .where(ReconcileKey.side == CREDIT, ReconcileKey.key.in_(chunk))
            .group_by(ReconcileKey.key)
        )
        sizes.update(dict(session.execute(stmt).all()))
    return sizes


def _as_payer(key: str) -> tuple[str, str]:
    _, currency, group = key.split(":", 2)
    return currency, group


def with_payer_groups(
    session: Session, credits: set[str], changed: Counter
) -> tuple[set[str], frozenset[tuple[str, str]]]:
    """The credits with every member of their payer groups, and the crowded groups.

    A group of more than ``MAX_GROUP`` is never searched for split payments, so its
    members need not come along; but one that just grew past the limit, or shrank to
    it (``changed`` counts the changed credits in each group), changes its members'
    decisions, so they all come.
    """
    out = set(credits)
    crowded: set[str] = set()
    seen: set[str] = set()
    frontier_keys = {k for k in changed if k.startswith("g:")}
    frontier = set(credits)
    while frontier or frontier_keys:
        keys = {k for found in keys_of(session, CREDIT, frontier).values() for k in found}
        keys = {k for k in keys | frontier_keys if k.startswith("g:")} - seen
        frontier_keys = set()
        seen |= keys
        whole = set()
        for key, size in _group_sizes(session, keys).items():
            if size > MAX_GROUP:
                crowded.add(key)
            if size <= MAX_GROUP + changed[key]:
                whole.add(key)
        frontier = with_keys(session, CREDIT, whole) - out
        out |= frontier
    return out, frozenset(_as_payer(key) for key in crowded)


@dataclass(frozen=True)
class Reach:
    """The invoices some credits can reach, and what the engine must know beyond them."""

    invoice_ids: set[str]
    common_words: frozenset[tuple[str, str]]
    crowded_amounts: frozenset[tuple[str, int]]
    # Each credit's customers: those of the invoices it reaches directly (by a key or
    # its amount), and those payer memory ties its payer to (``reach_keys``).
    customers: dict[str, set[tuple[str, str]]]


def _amount_ranges(
    session: Session, credits: list[TxnIn], tolerance: int
) -> tuple[dict[tuple[str, int], set[str]], set[tuple[str, int]]]:
    """(currency, amount owed) → invoices, for what the credits could pay, and the credit
    amounts too crowded to list."""
    wanted = {(t.currency, t.amount) for t in credits}
    cap = MAX_SAME_AMOUNT + CROWD_MARGIN_PER_CREDIT * len(credits)
    counts: Counter = Counter()
    ranges = {(cur, amount - tolerance, amount) for cur, amount in wanted}
    for where in _amount_filters(ranges):
        stmt = (
            select(ReconcileItem.currency, ReconcileItem.open_amount, func.count())
            .where(ReconcileItem.side == INVOICE, where)
            .group_by(ReconcileItem.currency, ReconcileItem.open_amount)
        )
        for cur, owed, n in session.execute(stmt):
            counts[(cur, int(owed))] = n
    crowded, listed = set(), set()
    for cur, amount in wanted:
        inside = [
            (c, owed) for c, owed in counts if c == cur and amount - tolerance <= owed <= amount
        ] if tolerance else [(cur, amount)] if (cur, amount) in counts else []  # fmt: skip
        if sum(counts[k] for k in inside) > cap:
            crowded.add((cur, amount))
        else:
            listed.update(inside)
    owing: dict[tuple[str, int], set[str]] = defaultdict(set)
    for where in _amount_filters({(cur, owed, owed) for cur, owed in listed}):
        stmt = select(
            ReconcileItem.currency, ReconcileItem.open_amount, ReconcileItem.object_id
        ).where(ReconcileItem.side == INVOICE, where)
        for cur, owed, object_id in session.execute(stmt):
            owing[(cur, int(owed))].add(object_id)
    return owing, crowded


def _key_hits(session: Session, keys: Collection[str]) -> dict[str, set[str]]:
    """Key → the invoices carrying it."""
    out: dict[str, set[str]] = defaultdict(set)
    for chunk in chunked(keys):
        stmt = select(ReconcileKey.key, ReconcileKey.object_id).where(
            ReconcileKey.side == INVOICE, ReconcileKey.key.in_(chunk)
        )
        for key, object_id in session.execute(stmt):
            out[key].add(object_id)
    return out


def reachable(
    session: Session,
    *,
    credits: list[TxnIn],
    memory: PayerMemory,
    tolerance: int,
    counts: dict | None = None,
) -> Reach:
    """The open invoices the engine could look at for ``credits``, and its horizon.

    Those a credit reaches directly (a shared key, or owing what it could pay), plus the
    whole pool of every customer among them or that payer memory ties its payer to.
    """
    credit_keys = keys_of(session, CREDIT, [t.id for t in credits])
    keys = {k for found in credit_keys.values() for k in found}
    common = common_words(session, keys, counts)
    hits = _key_hits(session, _linking(keys, common))
    owing, crowded = _amount_ranges(session, credits, tolerance)
    direct = {i for found in hits.values() for i in found}
    direct |= {i for found in owing.values() for i in found}
    customer_of = {i: (cur, customer) for i, (cur, _, customer) in items_of(
        session, INVOICE, direct
    ).items()}  # fmt: skip
    per_credit: dict[str, set[tuple[str, str]]] = {}
    for txn in credits:
        reached = {i for key in credit_keys.get(txn.id, ()) for i in hits.get(key, ())}
        for (cur, owed), found in owing.items():
            if cur == txn.currency and txn.amount - tolerance <= owed <= txn.amount:
                reached |= found
        per_credit[txn.id] = {customer_of[i] for i in reached if i in customer_of}
        per_credit[txn.id] |= memory_customers(txn, memory)
    customers = {c for found in per_credit.values() for c in found}
    pools = with_keys(session, INVOICE, {f"k:{cur}:{customer}" for cur, customer in customers})
    return Reach(direct | pools, frozenset(common), frozenset(crowded), per_credit)
