"""Invoices: create, update, void, list, and batch upsert by external_id."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo import events
from payymo.db import utcnow
from payymo.errors import Conflict, InvalidRequest, PayymoError
from payymo.ids import new_id
from payymo.models import Invoice
from payymo.pagination import Page, paginate
from payymo.representations.invoices import invoice as invoice_document
from payymo.services import jobs, search, search_indexes
from payymo.services.batch import RowResult, failed_row
from payymo.tenancy import get_for_update_or_404

EDITABLE = (
    "number",
    "customer_name",
    "customer_email",
    "customer_reference",
    "amount_due",
    "currency",
    "issue_date",
    "due_date",
    "metadata",
)


def derive_status(
    *, amount_due: int, amount_paid: int, voided: bool, amount_charged: int = 0
) -> str:
    """Status from amounts: open, partially_paid, paid (or void); a charge settles too."""
    if voided:
        return "void"
    if amount_paid <= 0:
        return "open"
    return "paid" if amount_paid + amount_charged >= amount_due else "partially_paid"


def _snapshot(invoice: Invoice) -> dict:
    return invoice_document(invoice)


def _get_attr(invoice: Invoice, name: str):
    return invoice.metadata_ if name == "metadata" else getattr(invoice, name)


def _set_attr(invoice: Invoice, name: str, value) -> None:
    if name == "metadata":
        invoice.metadata_ = value or {}
    else:
        setattr(invoice, name, value)


def _apply_changes(invoice: Invoice, changes: dict) -> dict:
    """Apply ``changes``; return previous values of what really changed. Raises on rules."""
    if invoice.status == "void":
        raise Conflict("A void invoice cannot be changed.", code="invoice_void")
    changed = {k: v for k, v in changes.items() if k in EDITABLE and _get_attr(invoice, k) != v}
    if not changed:
        return {}
    new_due = changed.get("amount_due", invoice.amount_due)
    settled = invoice.amount_paid + invoice.amount_charged
    if new_due < settled:
        charged = (
            f" plus amount_charged ({invoice.amount_charged})" if invoice.amount_charged else ""
        )
        raise InvalidRequest(
            f"amount_due cannot be below amount_paid ({invoice.amount_paid}){charged}.",
            param="amount_due",
            code="amount_below_paid",
        )
    if "currency" in changed and invoice.amount_paid > 0:
        raise InvalidRequest(
            "The currency of an invoice with payments cannot change.",
            param="currency",
            code="currency_locked",
        )
    issue = changed.get("issue_date", invoice.issue_date)
    due = changed.get("due_date", invoice.due_date)
    if issue and due and due < issue:
        raise InvalidRequest("due_date must not be before issue_date.", param="due_date")
    before = invoice_document(invoice)
    previous = {}
    for name in changed:
        previous[name] = before[name]
        if (display := f"{name}_display") in before:
            previous[display] = before[display]
    for name, value in changed.items():
        _set_attr(invoice, name, value)
    invoice.status = derive_status(
        amount_due=invoice.amount_due,
        amount_paid=invoice.amount_paid,
        amount_charged=invoice.amount_charged,
        voided=False,
    )
    invoice.updated_at = utcnow()
    return previous


def _new_invoice(session: Session, data: dict) -> Invoice:
    now = utcnow()
    invoice = Invoice(
        id=new_id("inv"),
        created_at=now,
        updated_at=now,
        external_id=data["external_id"],
        amount_due=data["amount_due"],
        currency=data["currency"],
        amount_paid=0,
        amount_charged=0,
        status="open",
        metadata_=data.get("metadata") or {},
        **{k: data.get(k) for k in EDITABLE if k not in ("amount_due", "currency", "metadata")},
    )
    _check_dates(invoice.issue_date, invoice.due_date)
    session.add(invoice)
    return invoice


def _check_dates(issue: dt.date | None, due: dt.date | None) -> None:
    if issue and due and due < issue:
        raise InvalidRequest("due_date must not be before issue_date.", param="due_date")


def create_invoice(*, session: Session, data: dict) -> Invoice:
    """Create an invoice; its ``external_id`` must be new for this tenant."""
    existing = session.scalar(select(Invoice.id).where(Invoice.external_id == data["external_id"]))
    if existing is not None:
        raise Conflict(
            f"An invoice with external_id '{data['external_id']}' already exists ({existing}). "
            "Use PATCH or POST /invoices/batch to update it.",
            param="external_id",
            code="resource_already_exists",
        )
    invoice = _new_invoice(session, data)
    session.flush()
    events.emit(session, "invoice.created", {"object": _snapshot(invoice)})
    jobs.request_reconcile(session=session, reason="invoice_created")
    return invoice


def update_invoice(*, session: Session, invoice_id: str, changes: dict) -> Invoice:
    """Change editable fields under the invoice's row lock; emits ``invoice.updated``."""
    invoice = get_for_update_or_404(session, Invoice, invoice_id)
    previous = _apply_changes(invoice, changes)
    if previous:
        session.flush()
        events.emit(
            session,
            "invoice.updated",
            {"object": _snapshot(invoice), "previous_attributes": previous},
        )
        if jobs.invoice_change_matters(previous):
            jobs.request_reconcile(session=session, reason="invoice_updated")
    return invoice


def void_invoice(*, session: Session, invoice_id: str) -> Invoice:
    """Void an unpaid invoice (a paid one is never voided or deleted). Idempotent."""
    invoice = get_for_update_or_404(session, Invoice, invoice_id)
    if invoice.status == "void":
        return invoice
    if invoice.amount_paid > 0:
        raise Conflict(
            "An invoice with payments cannot be voided; reverse its matches first.",
            code="invoice_has_payments",
        )
    previous_status = invoice.status
    invoice.status = "void"
    invoice.voided_at = utcnow()
    invoice.updated_at = invoice.voided_at
    session.flush()
    events.emit(
        session,
        "invoice.voided",
        {"object": _snapshot(invoice), "previous_attributes": {"status": previous_status}},
    )
    jobs.request_reconcile(session=session, reason="invoice_voided")
    return invoice


def list_invoices(*, session: Session, filters: dict, page: dict) -> Page:
    """Filtered, newest-first page of invoices."""
    stmt = select(Invoice)
    simple = ("status", "customer_reference", "external_id", "currency")
    for name in simple:
        if filters.get(name) is not None:
            stmt = stmt.where(getattr(Invoice, name) == filters[name])
    if filters.get("customer"):
        texts = (filters["customer"], filters["customer"])
        stmt = search.restrict(session, stmt, search_indexes.INVOICE_CUSTOMERS, Invoice, texts)
    ranges = (
        ("issue_date_from", Invoice.issue_date, "ge"),
        ("issue_date_to", Invoice.issue_date, "le"),
        ("due_date_from", Invoice.due_date, "ge"),
        ("due_date_to", Invoice.due_date, "le"),
        ("updated_since", Invoice.updated_at, "ge"),
    )
    for name, column, op in ranges:
        if filters.get(name) is not None:
            value = filters[name]
            stmt = stmt.where(column >= value if op == "ge" else column <= value)
    return paginate(session, stmt, Invoice, prefix="inv", **page)


def upsert_invoices(*, session: Session, rows: list[tuple[int, dict]]) -> list[RowResult]:
    """Create or update each parsed row by ``external_id``; a failing row spoils no other."""
    wanted = [data["external_id"] for _, data in rows]
    # Locked in id order (one order for every writer): amounts are re-checked under them.
    existing = {
        inv.external_id: inv
        for inv in session.scalars(
            select(Invoice)
            .where(Invoice.external_id.in_(wanted))
            .order_by(Invoice.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }
    results = []
    seen: set[str] = set()
    rerun = False
    for index, data in rows:
        ext = data["external_id"]
        try:
            if ext in seen:
                raise InvalidRequest(
                    f"external_id '{ext}' appears twice in this batch.",
                    param="external_id",
                    code="duplicate_in_batch",
                )
            seen.add(ext)
            invoice = existing.get(ext)
            if invoice is None:
                invoice = _new_invoice(session, data)
                events.emit(session, "invoice.created", {"object": _snapshot(invoice)})
                results.append(RowResult(index, "created", invoice.id, external_id=ext))
                rerun = True
                continue
            changes = {k: data[k] for k in EDITABLE if k in data}
            previous = _apply_changes(invoice, changes)
            if not previous:
                results.append(RowResult(index, "unchanged", invoice.id, external_id=ext))
                continue
            events.emit(
                session,
                "invoice.updated",
                {"object": _snapshot(invoice), "previous_attributes": previous},
            )
            results.append(RowResult(index, "updated", invoice.id, external_id=ext))
            rerun = rerun or jobs.invoice_change_matters(previous)
        except PayymoError as exc:
            results.append(failed_row(exc, index=index, prefix="invoices", external_id=ext))
    session.flush()
    if rerun:
        jobs.request_reconcile(session=session, reason="invoices_upserted")
    return results
