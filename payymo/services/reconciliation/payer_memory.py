"""Payer memory: people's matches teach which payer IBAN and name pay which customer.

Only a person's decision (a manual match or an accepted suggestion) teaches; auto matches
never do, so the engine cannot talk itself into a wrong belief. Reversing a person's
match takes back what it taught.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from payymo.db import utcnow
from payymo.ids import new_id
from payymo.matching import types
from payymo.matching.names import customer_key, normalize_name
from payymo.models import Invoice, PayerMemory, Transaction
from payymo.tenancy import current_tenant_id

_MAX_VALUE = 255  # PayerMemory.value and .customer_key column length
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def compact_iban(iban: str | None) -> str:
    """An IBAN without spaces, upper case (``""`` when there is none)."""
    return "".join((iban or "").split()).upper()


def payer_values(transaction: Transaction) -> list[tuple[str, str]]:
    """The (kind, value) pairs a transaction's payer is remembered by."""
    pairs = [
        ("iban", compact_iban(transaction.counterparty_iban)),
        ("name", normalize_name(transaction.counterparty_name)),
    ]
    # A value too long to store exactly is not learned rather than stored truncated.
    return [(kind, value) for kind, value in pairs if value and len(value) <= _MAX_VALUE]


def customer_keys(invoices: Iterable[Invoice]) -> list[str]:
    """The distinct customer keys of ``invoices`` (invoices with no customer data have none)."""
    keys = {
        customer_key(
            reference=inv.customer_reference, name=inv.customer_name, email=inv.customer_email
        )
        for inv in invoices
    }
    return sorted(k for k in keys if k and len(k) <= _MAX_VALUE)


def learn(session: Session, *, transaction: Transaction, invoices: Iterable[Invoice]) -> int:
    """Count one more confirmation of payer → customer; returns how many rows were touched."""
    pairs = payer_values(transaction)
    keys = customer_keys(invoices)
    if not pairs or not keys:
        return 0
    insert = _INSERTS[session.get_bind().dialect.name]
    tenant_id = current_tenant_id()
    now = utcnow()
    for kind, value in pairs:
        for key in keys:
            # One atomic upsert: two people confirming the same payer at once both count.
            stmt = insert(PayerMemory).values(
                id=new_id("pm"),
                tenant_id=tenant_id,
                kind=kind,
                value=value,
                customer_key=key,
                confirmations=1,
                last_confirmed_at=now,
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=["tenant_id", "kind", "value", "customer_key"],
                set_={
                    "confirmations": PayerMemory.confirmations + 1,
                    "last_confirmed_at": now,
                },
            )
            session.execute(stmt)
    return len(pairs) * len(keys)


def unlearn(session: Session, *, transaction: Transaction, invoices: Iterable[Invoice]) -> None:
    """Take back one confirmation (a person's match was reversed); forget rows at zero."""
    keys = customer_keys(invoices)
    if not keys:
        return
    for kind, value in payer_values(transaction):
        where = (
            PayerMemory.kind == kind,
            PayerMemory.value == value,
            PayerMemory.customer_key.in_(keys),
        )
        session.execute(
            update(PayerMemory)
            .where(*where)
            .values(confirmations=PayerMemory.confirmations - 1)
            .execution_options(synchronize_session=False)
        )
        session.execute(
            delete(PayerMemory)
            .where(*where, PayerMemory.confirmations <= 0)
            .execution_options(synchronize_session=False)
        )


def load(session: Session) -> types.PayerMemory:
    """The tenant's payer memory as the engine reads it."""
    by_kind: dict[str, dict[str, set[str]]] = {"iban": defaultdict(set), "name": defaultdict(set)}
    rows = session.execute(
        select(PayerMemory.kind, PayerMemory.value, PayerMemory.customer_key).where(
            PayerMemory.confirmations > 0
        )
    )
    for kind, value, key in rows:
        if kind in by_kind:
            by_kind[kind][value].add(key)
    return types.PayerMemory(
        by_iban={v: frozenset(k) for v, k in by_kind["iban"].items()},
        by_name={v: frozenset(k) for v, k in by_kind["name"].items()},
    )
