"""Transaction request and response schemas."""

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
    NO_NUL,
    Amount,
    CurrencyCode,
    Display,
    Iban,
    StrictBoolean,
)
from payymo.api.invoices.schemas import RowError
from payymo.models.transaction import (
    IMPORTABLE_STATUSES,
    MATCH_STATUSES,
    TRANSACTION_STATUSES,
)
from payymo.representations import transactions as representations
from payymo.services.transactions import IMPORT_ROW_STATUSES

DIRECTIONS = ("in", "out")
OBJECT_ID = validate.And(validate.Length(min=1, max=64), NO_CONTROL)


def Line(max_length: int, **kwargs) -> fields.String:
    """Single-line text of at most ``max_length`` characters (no control characters)."""
    return fields.String(
        validate=validate.And(validate.Length(max=max_length), NO_CONTROL), **kwargs
    )


def Prose(max_length: int, **kwargs) -> fields.String:
    """Multi-line text of at most ``max_length`` characters (no NUL)."""
    return fields.String(validate=validate.And(validate.Length(max=max_length), NO_NUL), **kwargs)


class TransactionUpdate(UpdateSchema):
    """What a client may change on a transaction."""

    category = Line(100, allow_none=True)
    notes = Prose(5000, allow_none=True)
    ignored = StrictBoolean(
        metadata={"description": "true sets match_status 'ignored'; false puts it back"}
    )


class TransactionReplace(StrictSchema):
    """PUT: every writable field; one left out is cleared to its default."""

    category = Line(100, allow_none=True, load_default=None)
    notes = Prose(5000, allow_none=True, load_default=None)
    ignored = StrictBoolean(
        load_default=False,
        metadata={
            "description": "true sets match_status 'ignored'; false (the default) puts it back"
        },
    )


class TransactionImportRow(StrictSchema):
    """One statement line to import into a manual account."""

    id = fields.String(
        validate=validate.And(validate.Length(min=1, max=255), NO_CONTROL),
        metadata={"description": "Your id for the line; re-sending it is a duplicate"},
    )
    status = fields.String(load_default="booked", validate=validate.OneOf(IMPORTABLE_STATUSES))
    booking_date = fields.Date(required=True)
    value_date = fields.Date(allow_none=True)
    amount = Amount(signed=True, required=True)
    currency = CurrencyCode(required=True)
    counterparty_name = Line(255, allow_none=True)
    counterparty_iban = Iban(allow_none=True)
    remittance_information = Prose(4000, allow_none=True)
    end_to_end_id = Line(255, allow_none=True)
    category = Line(100, allow_none=True)
    notes = Prose(5000, allow_none=True)


class TransactionImportIn(StrictSchema):
    """Up to 1,000 statement lines for one manual account."""

    account_id = fields.String(required=True, validate=OBJECT_ID)
    transactions = fields.List(
        fields.Raw(), required=True, validate=validate.Length(min=1, max=1000)
    )


class TransactionOut(OutputSchema):
    """A transaction as the API and events show it."""

    represent = staticmethod(representations.transaction)
    object = fields.Constant("transaction")
    id = fields.String()
    account_id = fields.String()
    provider_id = fields.String(
        allow_none=True, metadata={"description": "The bank's or importer's id for the line"}
    )
    status = fields.String(metadata={"enum": list(TRANSACTION_STATUSES)})
    booking_date = fields.Date(allow_none=True)
    value_date = fields.Date(allow_none=True)
    amount = fields.Integer(metadata={"description": "Signed minor units; negative = money out"})
    amount_display = Display("amount")
    amount_allocated = fields.Integer(
        metadata={"description": "Part of a credit allocated to invoices by live matches"}
    )
    amount_allocated_display = Display("amount_allocated")
    amount_unallocated = fields.Function(
        representations.unallocated,
        metadata={
            "type": "integer",
            "description": "Part of a credit not (yet) allocated; 0 for debits",
        },
    )
    amount_unallocated_display = Display(representations.unallocated)
    currency = fields.String()
    counterparty_name = fields.String(allow_none=True)
    counterparty_iban = fields.String(allow_none=True)
    remittance_information = fields.String(allow_none=True)
    end_to_end_id = fields.String(allow_none=True)
    match_status = fields.String(metadata={"enum": list(MATCH_STATUSES)})
    ignored = fields.Function(
        lambda txn: txn.match_status == "ignored",
        metadata={"type": "boolean", "description": "match_status is 'ignored'"},
    )
    category = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


TransactionList = list_schema(TransactionOut, "TransactionList", sync=True)


class TransactionFilters(StrictSchema):
    """Filters shared by ``GET /transactions`` and ``GET /transactions/stats``."""

    account_id = fields.String(validate=OBJECT_ID)
    status = fields.String(validate=validate.OneOf(TRANSACTION_STATUSES))
    match_status = fields.String(validate=validate.OneOf(MATCH_STATUSES))
    direction = fields.String(
        validate=validate.OneOf(DIRECTIONS),
        metadata={"description": "in: amount ≥ 0, out: amount < 0"},
    )
    currency = CurrencyCode()
    booking_date_from = fields.Date()
    booking_date_to = fields.Date()
    amount_min = Amount(
        signed=True, query=True, metadata={"description": "Signed minor units, inclusive"}
    )
    amount_max = Amount(
        signed=True, query=True, metadata={"description": "Signed minor units, inclusive"}
    )
    q = fields.String(
        validate=validate.And(validate.Length(min=1, max=200), NO_CONTROL),
        metadata={"description": "Substring of counterparty name/IBAN or remittance text"},
    )

    @validates_schema
    def _ranges(self, data, **_kwargs):
        low, high = data.get("booking_date_from"), data.get("booking_date_to")
        if low and high and high < low:
            raise ValidationError("must not be before booking_date_from.", "booking_date_to")
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and high < low:
            raise ValidationError("must not be below amount_min.", "amount_max")


class TransactionListArgs(SyncArgs, ListArgs, TransactionFilters):
    """Filters, pagination and ``sync_token`` for ``GET /transactions``."""


class TransactionImportRowOut(Schema):
    """The outcome of one imported line."""

    index = fields.Integer()
    status = fields.String(metadata={"enum": list(IMPORT_ROW_STATUSES)})
    id = fields.String(allow_none=True, metadata={"description": "The (existing) transaction"})
    error = fields.Nested(RowError, allow_none=True)


class TransactionImportOut(Schema):
    """Per-row results of an import."""

    object = fields.Constant("transaction_import")
    account_id = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    results = fields.List(fields.Nested(TransactionImportRowOut))


class StatsBucket(Schema):
    """Count and signed sum of one group, always within one currency."""

    currency = fields.String()
    count = fields.Integer()
    amount = fields.Integer(metadata={"description": "Signed sum, minor units"})
    amount_display = Display("amount", keyed=True)
    amount_in = fields.Integer(metadata={"description": "Sum of amounts ≥ 0"})
    amount_in_display = Display("amount_in", keyed=True)
    amount_out = fields.Integer(metadata={"description": "Sum of amounts < 0 (negative)"})
    amount_out_display = Display("amount_out", keyed=True)


class MatchStatusBucket(StatsBucket):
    """Per match status and currency."""

    match_status = fields.String(metadata={"enum": list(MATCH_STATUSES)})


class DirectionBucket(StatsBucket):
    """Per direction and currency."""

    direction = fields.String(metadata={"enum": list(DIRECTIONS)})


class MonthBucket(StatsBucket):
    """Per booking month (``YYYY-MM``, null when not booked yet) and currency."""

    month = fields.String(allow_none=True)


class TransactionStatsOut(Schema):
    """Counts and sums of the filtered transactions; amounts never mix currencies."""

    object = fields.Constant("transaction_stats")
    count = fields.Integer()
    by_currency = fields.List(fields.Nested(StatsBucket))
    by_match_status = fields.List(fields.Nested(MatchStatusBucket))
    by_direction = fields.List(fields.Nested(DirectionBucket))
    by_month = fields.List(fields.Nested(MonthBucket))
