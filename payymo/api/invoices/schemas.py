"""Invoice request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from payymo.api.common import (
    ListArgs,
    OutputSchema,
    StrictSchema,
    SyncArgs,
    UpdateSchema,
    list_schema,
)
from payymo.api.fields import (
    NO_CONTROL,
    Amount,
    CurrencyCode,
    Display,
    Metadata,
    Text,
    Timestamp,
)
from payymo.models.invoice import INVOICE_STATUSES
from payymo.representations import invoices as representations

BATCH_ROW_STATUSES = ("created", "updated", "unchanged", "error")
EXTERNAL_ID = validate.And(validate.Length(min=1, max=255), NO_CONTROL)


def _check_dates(data: dict) -> None:
    issue, due = data.get("issue_date"), data.get("due_date")
    if issue and due and due < issue:
        raise ValidationError("due_date must not be before issue_date.", "due_date")


class InvoiceFields(StrictSchema):
    """Fields a client may set on an invoice."""

    number = Text(100, allow_none=True)
    customer_name = Text(255, allow_none=True)
    customer_email = fields.Email(validate=validate.Length(max=255), allow_none=True)
    customer_reference = Text(100, allow_none=True)
    amount_due = Amount()
    currency = CurrencyCode()
    issue_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    metadata = Metadata()

    @validates_schema
    def _dates(self, data, **_kwargs):
        _check_dates(data)


class InvoiceCreate(InvoiceFields):
    """Create an invoice (``external_id`` is the CRM/ERP's id, unique per tenant)."""

    external_id = fields.String(required=True, validate=EXTERNAL_ID)
    amount_due = Amount(required=True)
    currency = CurrencyCode(required=True)


class InvoiceUpdate(UpdateSchema, InvoiceFields):
    """Change an invoice; every field optional."""


class InvoiceOut(OutputSchema):
    """An invoice as the API and events show it."""

    represent = staticmethod(representations.invoice)
    object = fields.Constant("invoice")
    id = fields.String()
    external_id = fields.String()
    number = fields.String(allow_none=True)
    customer_name = fields.String(allow_none=True)
    customer_email = fields.String(allow_none=True)
    customer_reference = fields.String(allow_none=True)
    amount_due = fields.Integer()
    amount_paid = fields.Integer()
    amount_charged = fields.Integer(
        metadata={"description": "Written off as bank charges by live matches (never paid)"}
    )
    amount_remaining = fields.Integer(
        metadata={
            "description": "Still owed: amount_due - amount_paid - amount_charged; 0 once void"
        }
    )
    amount_due_display = Display("amount_due")
    amount_paid_display = Display("amount_paid")
    amount_charged_display = Display("amount_charged")
    amount_remaining_display = Display("amount_remaining")
    currency = fields.String()
    issue_date = fields.Date(allow_none=True)
    due_date = fields.Date(allow_none=True)
    status = fields.String(metadata={"enum": list(INVOICE_STATUSES)})
    dispute_status = fields.String(
        allow_none=True,
        metadata={
            "description": "Set while a card payment for it is disputed, and to how the "
            "dispute ended (Stripe's dispute status: needs_response, under_review, won, lost, "
            "…); null when no payment for it was ever disputed"
        },
    )
    metadata = fields.Dict(attribute="metadata_")
    voided_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


InvoiceList = list_schema(InvoiceOut, "InvoiceList", sync=True)


class InvoiceListArgs(SyncArgs, ListArgs):
    """Filters, pagination and ``sync_token`` for ``GET /invoices``."""

    status = fields.String(validate=validate.OneOf(INVOICE_STATUSES))
    customer = Text(255, metadata={"description": "Substring of customer name or email"})
    customer_reference = Text(100)
    external_id = fields.String(validate=EXTERNAL_ID)
    currency = CurrencyCode()
    issue_date_from = fields.Date()
    issue_date_to = fields.Date()
    due_date_from = fields.Date()
    due_date_to = fields.Date()
    updated_since = Timestamp(
        metadata={
            "description": "ISO 8601 with offset, or unix seconds; invoices changed since. "
            "Can miss a change that commits late: sync with sync_token instead"
        }
    )


class InvoiceBatchIn(StrictSchema):
    """Up to 1,000 invoices to upsert by ``external_id``."""

    invoices = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1, max=1000))


class RowError(Schema):
    """Why one row of a batch failed."""

    type = fields.String()
    code = fields.String()
    message = fields.String()
    param = fields.String(allow_none=True)


class InvoiceBatchRow(Schema):
    """The outcome of one row: created, updated, unchanged or error."""

    index = fields.Integer()
    external_id = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(BATCH_ROW_STATUSES)})
    id = fields.String(allow_none=True)
    error = fields.Nested(RowError, allow_none=True)


class InvoiceBatchOut(Schema):
    """Per-row results of a batch."""

    object = fields.Constant("invoice_batch")
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    results = fields.List(fields.Nested(InvoiceBatchRow))
