"""The books balance: invoices, transactions and matches agree with live allocations.

A line's ``charge`` settles its invoice without money: invoices add it up as
``amount_charged``; transactions and matches never count it. A match's target is either
invoices (allocation lines) or one Stripe payout (a payout line); the payout points back
at its live line's credit.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.models import Allocation, Invoice, Match, PayoutAllocation, StripePayout, Transaction
from payymo.services import allocations, invoices
from payymo.tenancy import tenant_scope


def assert_books_balance(session: Session, tenant_id: str) -> None:
    """Invoices, transactions and matches agree with the live allocations."""
    with tenant_scope(tenant_id):
        lines = session.execute(
            select(
                Allocation.invoice_id,
                Allocation.transaction_id,
                Allocation.amount,
                Allocation.charge,
            ).where(Allocation.status == "active")
        ).all()
        by_invoice: dict[str, int] = defaultdict(int)
        charged: dict[str, int] = defaultdict(int)
        by_txn: dict[str, int] = defaultdict(int)
        for invoice_id, txn_id, amount, charge in lines:
            by_invoice[invoice_id] += amount
            charged[invoice_id] += charge
            by_txn[txn_id] += amount
        payout_lines = session.execute(
            select(
                PayoutAllocation.payout_id, PayoutAllocation.transaction_id, PayoutAllocation.amount
            ).where(PayoutAllocation.status == "active")
        ).all()
        paid_out = {payout_id: txn_id for payout_id, txn_id, _ in payout_lines}
        for _, txn_id, amount in payout_lines:
            by_txn[txn_id] += amount
        for payout in session.scalars(select(StripePayout)):
            assert payout.bank_transaction_id == paid_out.get(payout.id), payout.id
        for inv in session.scalars(select(Invoice)):
            assert inv.amount_paid == by_invoice.get(inv.id, 0), inv.id
            assert inv.amount_charged == charged.get(inv.id, 0), inv.id
            assert inv.amount_paid + inv.amount_charged <= inv.amount_due, inv.id
            assert inv.amount_charged == 0 or inv.amount_paid > 0, (
                inv.id
            )  # a charge rides a payment
            expected = invoices.derive_status(
                amount_due=inv.amount_due,
                amount_paid=inv.amount_paid,
                amount_charged=inv.amount_charged,
                voided=False,
            )
            assert inv.status == expected, inv.id
        for txn in session.scalars(select(Transaction)):
            assert txn.amount_allocated == by_txn.get(txn.id, 0), txn.id
            assert txn.amount_allocated <= max(txn.amount, 0), txn.id
            if txn.amount_allocated:
                assert txn.match_status == allocations.transaction_match_status(txn), txn.id
        for match in session.scalars(select(Match)):
            lines = [*match.allocations, *match.payout_lines]
            assert lines, f"{match.id} has no lines"
            assert not (match.allocations and match.payout_lines), f"{match.id} has two targets"
            assert sum(line.amount for line in lines) == match.amount
            assert {line.status for line in lines} == {match.status}
