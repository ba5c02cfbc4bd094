"""Jobs for the task tests, resolved by dotted name exactly like the real ones."""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from payymo.models import Invoice
from payymo.services import invoices
from payymo.tenancy import get_or_404
from tasks.base import tenant_job


@tenant_job
def tag_invoice(session: Session, invoice_id: str, tag: str = "chased") -> str:
    """Set ``metadata.tag`` on one of the tenant's invoices; a second run changes nothing."""
    invoice = get_or_404(session, Invoice, invoice_id)
    if invoice.metadata_.get("tag") == tag:
        return "unchanged"
    invoices.update_invoice(
        session=session,
        invoice_id=invoice.id,
        changes={"metadata": {**invoice.metadata_, "tag": tag}},
    )
    return "tagged"


@tenant_job
def tag_then_fail(session: Session, invoice_id: str) -> None:
    """Tag an invoice, flush, then fail: the wrapper must roll the tag back."""
    tag_invoice.__wrapped__(session, invoice_id, tag="never")
    session.flush()
    raise RuntimeError("boom after writing")


GATE = threading.Event()


def wait_at_gate() -> None:
    """Hold the in-process worker until a test opens ``GATE`` (at most 30 s)."""
    GATE.wait(30)
