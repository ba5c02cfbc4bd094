"""Which credits an incremental run decides, and which invoices it hands the engine.

The rule that keeps an incremental run's decisions equal to a full run's: a credit is
decided again when anything it could look at changed (itself, an invoice it can reach,
its payer group, what payer memory says of its payer), and the engine gets every invoice
it could look at for the credits it decides. Both directions go through the look-up
tables (``lookup_tables``) and indexed amount ranges; neither reads every open row.

- ``affected``: the credits a set of changes can reach.
- ``with_payer_groups``: credits come with their whole payer group (split payments are
  found within a group), unless the group is too large to count (``crowded``).
- ``Reach``: the invoices the engine could look at for some credits, plus what it
  cannot see but must know (``types.Horizon``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from payymo.matching.index import MAX_SAME_AMOUNT, MAX_WORD_POSTINGS
from payymo.matching.keys import NAME_PREFIXES, links, memory_customers, reach_key
from payymo.matching.splits import MAX_GROUP
from payymo.matching.types import PayerMemory, TxnIn
from payymo.models import PayerMemory as PayerMemoryRow
from payymo.models import ReconcileItem, ReconcileKey
from payymo.models.reconcile_index import CREDIT, INVOICE
from payymo.services.reconciliation.load import chunked, one_of
from payymo.services.reconciliation.lookup_tables import Refreshed, items_of, keys_of
from payymo.services.reconciliation.name_tables import name_customers, word_name_counts

# An auto match allocates a few invoices; a range owed by more than this many more than
# MAX_SAME_AMOUNT per credit decided stays too crowded for the whole run.
CROWD_MARGIN_PER_CREDIT = 20
RANGE_CHUNK = 200


def with_keys(session: Session, side: str, keys: Collection[str]) -> set[str]:
    """Ids on ``side`` carrying any of ``keys``."""
    out: set[str] = set()
    for chunk in chunked(keys):
        stmt = select(ReconcileKey.object_id).where(
            ReconcileKey.side == side, one_of(session, ReconcileKey.key, chunk)
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


def _amount_filters(session: Session, ranges: set[tuple[str, int, int]]):
    """WHERE clauses covering (currency, low, high) ranges, a few hundred at a time.

    Exact amounts (the default: no tolerance) become one list per currency, which
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
            yield and_(
                ReconcileItem.currency == currency,
                one_of(session, ReconcileItem.open_amount, chunk),
            )
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
    for where in _amount_filters(session, ranges):
        stmt = select(ReconcileItem.object_id).where(ReconcileItem.side == side, where)
        out.update(session.scalars(stmt))
    return out


def _memory_payers(session: Session, customers: set[tuple[str, str]]) -> set[str]:
    """``p:`` keys of the payers memory ties to these customers."""
    keys = {customer for _currency, customer in customers}
    out = set()
    for chunk in chunked(keys):
        stmt = select(PayerMemoryRow.kind, PayerMemoryRow.value).where(
            one_of(session, PayerMemoryRow.customer_key, chunk)
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
            .where(ReconcileKey.side == CREDIT, one_of(session, ReconcileKey.key, chunk))
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
        found = keys_of(session, CREDIT, frontier, prefix="g:")
        keys = {k for k in frontier_keys if k.startswith("g:")}
        keys = keys.union(*found.values()) - seen
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


def _key_hits(session: Session, keys: Collection[str]):
    """(key, invoice, currency, customer) of the open invoices carrying any of ``keys``.

    The keys' rows first, then each invoice's item once, by id. Joined in one statement,
    the planner could hash every open invoice of the tenant to meet the key rows
    (200,000 items read, 1.7 s of a 4 s run, when name keys came this way too).
    """
    k = ReconcileKey
    pairs = []
    for chunk in chunked(keys):
        stmt = select(k.key, k.object_id).where(k.side == INVOICE, one_of(session, k.key, chunk))
        pairs += session.execute(stmt).all()
    items = items_of(session, INVOICE, {object_id for _key, object_id in pairs})
    for key, object_id in pairs:
        if (item := items.get(object_id)) is not None:
            yield key, object_id, item[0], item[2]


class Reach:
    """The invoices the engine could look at for a growing set of credits (one run).

    Those a credit reaches directly (a shared reference, or owing what it could pay),
    plus the whole pool of every customer among them, of every customer whose name
    shares a name key with the payer, and of those payer memory ties its payer to. A
    run's later passes add credits (``add``): only what they bring is read, and the
    result is what one read of every credit would give.
    """

    def __init__(
        self, session: Session, *, memory: PayerMemory, tolerance: int, counts: dict
    ) -> None:
        self.session = session
        self.memory = memory
        self.tolerance = tolerance
        self.counts = counts  # names per name word (``common_words``)
        self.credits: dict[str, TxnIn] = {}
        self.credit_keys: dict[str, set[str]] = {}  # each credit's stored keys (c: too)
        self.common: set[tuple[str, str]] = set()  # (currency, word) too common to narrow
        self.hits: dict[str, set[str]] = {}  # reference key → invoices carrying it
        # Name key → the customers of the invoices carrying it. Those invoices are the
        # customers' pools, read with them: none is reached directly.
        self.named: dict[str, set[tuple[str, str]]] = {}
        self.customer_of: dict[str, tuple[str, str]] = {}  # invoice → (currency, customer)
        self.owed: Counter = Counter()  # (currency, amount owed) → invoices, as counted
        self.counted: set[tuple[str, int, int]] = set()  # amount ranges counted
        self.owing: dict[tuple[str, int], set[str]] = {}  # (currency, owed) → invoices
        self.crowded_amounts: frozenset[tuple[str, int]] = frozenset()
        # Each credit's customers: those of the invoices it reaches directly (by a key or
        # its amount), and those payer memory ties its payer to (``reach_keys``).
        self.customers: dict[str, set[tuple[str, str]]] = {}
        self.pools: set[tuple[str, str]] = set()  # customers whose invoices are loaded

    def add(self, credits: Iterable[TxnIn]) -> tuple[set[str], set[tuple[str, str]]]:
        """Take in more credits: every invoice reached directly, and the customers
        reached whose pools were not before."""
        new = [t for t in credits if t.id not in self.credits]
        self.credits.update((t.id, t) for t in new)
        found = keys_of(self.session, CREDIT, [t.id for t in new])
        self.credit_keys.update(found)
        keys = {k for ks in found.values() for k in ks}
        self.common |= common_words(self.session, keys, self.counts)
        linking = _linking(keys, self.common) - self.hits.keys() - self.named.keys()
        names = {key for key in linking if key.startswith(NAME_PREFIXES)}
        self.named.update((key, set()) for key in names)
        for key, currency, customer in name_customers(self.session, names):
            self.named[key].add((currency, customer))
        self.hits.update((key, set()) for key in linking - names)
        for key, invoice_id, currency, customer in _key_hits(self.session, linking - names):
            self.hits[key].add(invoice_id)
            self.customer_of[invoice_id] = (currency, customer)
        self._amounts()
        direct: set[str] = set()
        for txn in self.credits.values():
            own = self.credit_keys.get(txn.id, ())
            reached = {i for key in own for i in self.hits.get(key, ())}
            reached.update(*self._owing(txn))
            direct |= reached
            mine = {self.customer_of[i] for i in reached if i in self.customer_of}
            mine.update(*(self.named.get(key, ()) for key in own))
            self.customers[txn.id] = mine | memory_customers(txn, self.memory)
        wanted = {c for found in self.customers.values() for c in found} - self.pools
        self.pools |= wanted
        return direct, wanted

    def _amounts(self) -> None:
        """Count what each credit amount is owed by; list the invoices of those not crowded.

        The cap grows with the credits decided (``CROWD_MARGIN_PER_CREDIT``), so an
        amount crowded in an earlier pass can be listed in a later one.
        """
        tolerance = self.tolerance
        wanted = {(t.currency, t.amount) for t in self.credits.values()}
        ranges = {(cur, amount - tolerance, amount) for cur, amount in wanted} - self.counted
        self.counted |= ranges
        for where in _amount_filters(self.session, ranges):
            stmt = (
                select(ReconcileItem.currency, ReconcileItem.open_amount, func.count())
                .where(ReconcileItem.side == INVOICE, where)
                .group_by(ReconcileItem.currency, ReconcileItem.open_amount)
            )
            for cur, owed, n in self.session.execute(stmt):
                self.owed[(cur, int(owed))] = n
        cap = MAX_SAME_AMOUNT + CROWD_MARGIN_PER_CREDIT * len(self.credits)
        crowded, listed = set(), set()
        for cur, amount in wanted:
            inside = [
                (c, owed) for c, owed in self.owed if c == cur and amount - tolerance <= owed <= amount
            ] if tolerance else [(cur, amount)] if (cur, amount) in self.owed else []  # fmt: skip
            if sum(self.owed[k] for k in inside) > cap:
                crowded.add((cur, amount))
            else:
                listed.update(inside)
        self.crowded_amounts = frozenset(crowded)
        missing = {(cur, owed, owed) for cur, owed in listed - self.owing.keys()}
        for where in _amount_filters(self.session, missing):
            stmt = select(
                ReconcileItem.currency,
                ReconcileItem.open_amount,
                ReconcileItem.object_id,
                ReconcileItem.customer,
            ).where(ReconcileItem.side == INVOICE, where)
            for cur, owed, object_id, customer in self.session.execute(stmt):
                self.owing.setdefault((cur, int(owed)), set()).add(object_id)
                self.customer_of[object_id] = (cur, customer)
        for cur, owed, _ in missing:
            self.owing.setdefault((cur, owed), set())

    def _owing(self, txn: TxnIn) -> list[set[str]]:
        """The listed invoices owing what the credit could pay."""
        if not self.tolerance:
            return [self.owing.get((txn.currency, txn.amount), set())]
        low = txn.amount - self.tolerance
        return [
            found
            for (cur, owed), found in self.owing.items()
            if cur == txn.currency and low <= owed <= txn.amount
        ]
