"""What one transaction says, resolved against the invoice indexes once."""

from __future__ import annotations

from collections.abc import Iterable

from payymo.matching.context import TxnContext
from payymo.matching.index import InvoiceIndex
from payymo.matching.names import normalize_name, plain_name
from payymo.matching.patterns import InvalidPattern, compile_pattern, run_pattern
from payymo.matching.references import (
    GENERIC,
    candidate_tokens,
    near_tokens,
    normalize_reference,
    reference_core,
)
from payymo.matching.types import MatchSettings, PayerMemory, TxnIn

Token = tuple[str, str, int, int]  # full, core, first run, last run


def compact_iban(iban: str | None) -> str:
    """An IBAN without spaces, upper case (the payer memory key)."""
    return "".join((iban or "").split()).upper()


def partial_reading(full: str, core: str) -> bool:
    """A bare number (or one with a generic prefix) may be an invoice number's core."""
    return full == core or full == GENERIC + "-" + core


def resolve_hits(
    exact: list[tuple[int, str, int, int]], partial: list[tuple[int, str, int, int]]
) -> dict[int, tuple[str, str]]:
    """Invoice → ("exact"|"partial", token); the longest reading of a stretch wins.

    Both lists hold (invoice, token, first run, last run). A reading inside a longer
    exact one is dropped: ``Inv 2024/025414`` naming invoice 2024-025414 does not also
    name INV-2024 or INV-25414.
    """
    hits: dict[int, tuple[str, str]] = {}
    spans: list[tuple[int, int]] = []
    for p, token, start, end in sorted(exact, key=lambda h: h[2] - h[3]):
        if any(s <= start and end <= e and (s, e) != (start, end) for s, e in spans):
            continue
        hits.setdefault(p, ("exact", token))
        spans.append((start, end))
    for p, token, start, end in partial:
        if p not in hits and not any(s <= start and end <= e for s, e in spans):
            hits[p] = ("partial", token)
    return hits


def new_context(txn: TxnIn, settings: MatchSettings, memory: PayerMemory) -> TxnContext:
    """A context with the transaction's own facts and what payer memory knows of it."""
    payer = normalize_name(txn.counterparty_name)
    iban = compact_iban(txn.counterparty_iban)
    return TxnContext(
        amount=txn.amount,
        currency=txn.currency,
        booking_date=txn.booking_date,
        payer=payer,
        payer_plain=plain_name(txn.counterparty_name),
        tolerance=settings.overpayment_tolerance,
        window=settings.date_window_days,
        iban_customers=memory.by_iban.get(iban, frozenset()) if iban else frozenset(),
        name_customers=memory.by_name.get(payer, frozenset()) if payer else frozenset(),
        day=txn.booking_date.toordinal() if txn.booking_date else None,
        charge_tolerance=settings.charge_tolerance,
    )


class TokenReader:
    """Reads reference tokens from remittance text, with the tenant pattern if it has one."""

    def __init__(self, settings: MatchSettings) -> None:
        self.pattern = None
        self._read: dict[str, list[Token]] = {}  # readings per distinct text
        if settings.reference_pattern:
            try:
                self.pattern = compile_pattern(settings.reference_pattern)
            except InvalidPattern:
                self.pattern = None  # settings validation refuses these; never crash a run

    def tokens(self, text: str) -> list[Token]:
        """Built-in readings plus the tenant pattern's (whose spans never suppress others)."""
        found = self._read.get(text)
        if found is None:  # many credits share a text ("Thank you", a customer's usual line)
            found = self._read[text] = candidate_tokens(text)
            if self.pattern is not None:
                values = run_pattern(self.pattern, text)
                found += [(normalize_reference(v), reference_core(v), -2, -2) for v in values]
        return found


def indexed_context(
    index: InvoiceIndex,
    reader: TokenReader,
    txn: TxnIn,
    settings: MatchSettings,
    memory: PayerMemory,
    blocked: frozenset[str],
) -> TxnContext:
    """The transaction's context, reference hits looked up in the index (no scans)."""
    ctx = new_context(txn, settings, memory)
    cur = txn.currency
    exact, partial = [], []
    tokens = reader.tokens(txn.remittance or "")
    ctx.near_tokens = near_tokens(tokens)
    for full, core, start, end in tokens:
        for p in index.by_ref.get((cur, full), ()) or index.by_ref.get((cur, core), ()):
            exact.append((p, full, start, end))
        if partial_reading(full, core):
            partial += [(p, core, start, end) for p in index.by_core.get((cur, core), ())]
        for key in index.by_customer_ref.get((cur, full), ()):
            ctx.customer_refs.setdefault(key, full)
    ctx.refs = usable(index, resolve_hits(exact, partial), blocked)
    if ctx.payer:
        ctx.payer_customers = frozenset(index.by_name.get((cur, ctx.payer), ()))
        ctx.rival = any(
            index.invoices[p].id not in blocked
            for key in ctx.payer_customers
            for p in index.customer_amount_matches(cur, key, txn.amount, 0)
        )
    return ctx


def usable(index: InvoiceIndex, hits: dict, blocked: Iterable[str]) -> dict:
    """Only hits on invoices still open in this run and not blocked for the transaction."""
    return {
        p: hit
        for p, hit in hits.items()
        if index.remaining[p] > 0 and index.invoices[p].id not in blocked
    }
