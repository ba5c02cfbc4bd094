"""Look-up keys: what links a credit to the invoices the engine could look at for it.

An incremental run finds, in indexed tables of these keys, the invoices a few credits
can reach and the credits a few invoices can reach, instead of reading every open row.
A credit and an invoice share a key whenever one of the engine's look-ups could lead
from the one to the other (a superset is fine: it only costs a little work):

- ``r:`` reference readings (the credit's) and invoice numbers and customer references;
- ``n:`` a payer's normalised name and a customer's; ``w:`` the words of those names;
- ``k:`` an invoice's customer (its pool: ``InvoiceIndex.by_customer``);
- ``g:`` a credit's payer group (split payments are found within these);
- ``p:`` a credit's payer as payer memory knows it (IBAN or name, any currency);
- ``c:`` a customer a credit reaches: one of whose invoices it reaches directly, or whom
  payer memory ties its payer to. Kept from the credit's last decision, so a change to
  any invoice of that customer finds the credit in one look-up (the customer's other
  invoices are in the engine's view of it).

Amounts are not keys: they are compared as ranges on an indexed column.
"""

from __future__ import annotations

from collections.abc import Collection

from payymo.matching.evidence import TokenReader, compact_iban
from payymo.matching.index import name_words
from payymo.matching.names import customer_key, normalize_name
from payymo.matching.references import normalize_reference, reference_forms
from payymo.matching.types import InvoiceIn, PayerMemory, TxnIn

MAX_KEY = 300  # the key column's length; a longer key is cut (a superset: harmless)
NAME_PREFIXES = ("n:", "w:")  # a name, a name word
LINK_PREFIXES = ("r:", *NAME_PREFIXES)  # keys a credit and an invoice both carry


def links(key: str, common: Collection[tuple[str, str]]) -> bool:
    """Whether a shared key leads the engine from a credit to an invoice.

    A name word that too many customer names share never narrows (``common``).
    """
    if not key.startswith(LINK_PREFIXES):
        return False
    if key.startswith("w:"):
        _, currency, word = key.split(":", 2)
        return (currency, word) not in common
    return True


def memory_customers(txn: TxnIn, memory: PayerMemory) -> set[tuple[str, str]]:
    """(currency, customer) payer memory ties the credit's payer IBAN or name to."""
    known = set(memory.by_iban.get(compact_iban(txn.counterparty_iban), ()))
    known |= memory.by_name.get(normalize_name(txn.counterparty_name), frozenset())
    return {(txn.currency, customer) for customer in known}


def reach_key(currency: str, customer: str) -> str:
    """The ``c:`` key of a customer a credit reaches."""
    return f"c:{currency}:{customer}"[:MAX_KEY]


def _cut(key: str) -> str:
    return key[:MAX_KEY]


def name_keys(currency: str, name: str) -> set[str]:
    """The ``n:`` and ``w:`` keys of a normalised name."""
    if not name:
        return set()
    return {f"n:{currency}:{name}"} | {f"w:{currency}:{word}" for word in name_words(name)}


def payer_group_keys(txn: TxnIn) -> list[tuple[str, str]]:
    """(currency, group) a credit's split payments are looked for in (``splits``)."""
    keys = []
    iban = compact_iban(txn.counterparty_iban)
    if iban:
        keys.append((txn.currency, "iban:" + iban))
    name = normalize_name(txn.counterparty_name)
    if name:
        keys.append((txn.currency, "name:" + name))
    return keys


def credit_keys(txn: TxnIn, reader: TokenReader) -> set[str]:
    """Every key of a credit (``reader`` carries the tenant's reference pattern)."""
    cur = txn.currency
    keys: set[str] = set()
    for full, core, _start, _end in reader.tokens(txn.remittance or ""):
        keys.add(f"r:{cur}:{full}")
        if core:
            keys.add(f"r:{cur}:{core}")
    keys |= name_keys(cur, normalize_name(txn.counterparty_name))
    for currency, group in payer_group_keys(txn):
        keys.add(f"g:{currency}:{group}")
        keys.add(f"p:{group}")
    return {_cut(k) for k in keys}


def invoice_customer(inv: InvoiceIn) -> str:
    """The customer an invoice belongs to (``InvoiceIndex.keys``)."""
    return customer_key(
        reference=inv.customer_reference, name=inv.customer_name, email=inv.customer_email
    )


def invoice_keys(inv: InvoiceIn) -> set[str]:
    """Every key of an open invoice."""
    cur = inv.currency
    keys: set[str] = {f"k:{cur}:{invoice_customer(inv)}"}
    if inv.number:
        full, core = reference_forms(inv.number)
        keys |= {f"r:{cur}:{form}" for form in (full, core) if form}
    if inv.customer_reference:
        ref = normalize_reference(inv.customer_reference)
        if ref:
            keys.add(f"r:{cur}:{ref}")
    keys |= name_keys(cur, normalize_name(inv.customer_name))
    return {_cut(k) for k in keys}


def invoice_words(inv: InvoiceIn) -> set[tuple[str, str]]:
    """(word, normalised customer name) pairs: how many names share a word decides
    whether the word still narrows (``InvoiceIndex.name_candidates``)."""
    name = normalize_name(inv.customer_name)
    return {(word, name) for word in name_words(name)} if name else set()
