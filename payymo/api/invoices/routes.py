"""/api/v1/invoices: list, create, get, update, void, batch upsert."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.batch import parse_rows
from payymo.api.common import Blueprint, page_args
from payymo.api.invoices.schemas import (
    BATCH_ROW_STATUSES,
    InvoiceBatchIn,
    InvoiceBatchOut,
    InvoiceCreate,
    InvoiceList,
    InvoiceListArgs,
    InvoiceOut,
    InvoiceUpdate,
)
from payymo.models import Invoice
from payymo.services import invoices as service
from payymo.services.batch import summarise
from payymo.tenancy import get_or_404

blp = Blueprint("invoices", __name__, url_prefix="/invoices", description="Invoices to be paid")
_CREATE = InvoiceCreate()


@blp.route("")
class Invoices(MethodView):
    @blp.arguments(InvoiceListArgs, location="query")
    @blp.response(200, InvoiceList)
    def get(self, args):
        """List invoices, newest first, or sync their changes with sync_token."""
        page = page_args(args)
        return service.list_invoices(session=db.session, filters=args, page=page)

    @blp.arguments(InvoiceCreate)
    @blp.response(201, InvoiceOut)
    def post(self, data):
        """Create an invoice."""
        return service.create_invoice(session=db.session, data=data)


@blp.route("/<string:invoice_id>")
class InvoiceById(MethodView):
    @blp.response(200, InvoiceOut)
    def get(self, invoice_id):
        """Retrieve an invoice."""
        return get_or_404(db.session, Invoice, invoice_id)

    @blp.arguments(InvoiceUpdate)
    @blp.response(200, InvoiceOut)
    def patch(self, changes, invoice_id):
        """Update an invoice's editable fields."""
        return service.update_invoice(session=db.session, invoice_id=invoice_id, changes=changes)


@blp.route("/<string:invoice_id>/void")
class InvoiceVoid(MethodView):
    @blp.response(200, InvoiceOut)
    def post(self, invoice_id):
        """Void an unpaid invoice."""
        return service.void_invoice(session=db.session, invoice_id=invoice_id)


@blp.route("/batch")
class InvoiceBatch(MethodView):
    @blp.arguments(InvoiceBatchIn)
    @blp.response(200, InvoiceBatchOut)
    @blp.alt_response(207, schema=InvoiceBatchOut, description="Some rows failed")
    def post(self, body):
        """Upsert up to 1,000 invoices by external_id; per-row results (207 when mixed)."""
        parsed, failed = parse_rows(
            _CREATE, body["invoices"], prefix="invoices", noun="invoice", key="external_id"
        )
        results = service.upsert_invoices(session=db.session, rows=parsed)
        counts, results, status = summarise(results + failed, BATCH_ROW_STATUSES)
        return {"counts": counts, "results": results}, status
