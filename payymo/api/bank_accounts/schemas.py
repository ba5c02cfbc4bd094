"""Bank account request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates
from werkzeug.datastructures import FileStorage

from payymo.api.common import ListArgs, OutputSchema, StrictSchema, list_schema
from payymo.api.fields import NO_CONTROL, NOT_BLANK, CurrencyCode, Display, Iban
from payymo.api.transactions.schemas import TransactionImportRowOut
from payymo.models.banking import ACCOUNT_KINDS
from payymo.services.statements.importer import (
    CSV_PRESETS,
    STATEMENT_FORMATS,
    mapping_from_text,
)

NAME = validate.And(validate.Length(min=1, max=200), NOT_BLANK, NO_CONTROL)


class BankAccountCreate(StrictSchema):
    """A manual account, for statements imported through ``POST /transactions/import``."""

    name = fields.String(required=True, validate=NAME)
    currency = CurrencyCode(required=True)
    iban = Iban(
        allow_none=True,
        metadata={"description": "Checksum-validated; stored compact upper case"},
    )


class BankAccountOut(OutputSchema):
    """A bank account as the API shows it."""

    object = fields.Constant("bank_account")
    id = fields.String()
    kind = fields.String(metadata={"enum": list(ACCOUNT_KINDS)})
    name = fields.String()
    currency = fields.String()
    iban = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


BankAccountList = list_schema(BankAccountOut, "BankAccountList")


class BankAccountListArgs(ListArgs):
    """Filters for ``GET /bank_accounts``."""

    kind = fields.String(validate=validate.OneOf(ACCOUNT_KINDS))
    currency = CurrencyCode()
    iban = Iban()


class StatementUpload(StrictSchema):
    """A statement file and how to read it (multipart/form-data)."""

    file = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": "Up to 20 MB"},
    )
    format = fields.String(
        validate=validate.OneOf(STATEMENT_FORMATS),
        metadata={"description": "The file's format; detected from its content when left out"},
    )
    mapping = fields.String(
        validate=validate.Length(max=4000),
        metadata={
            "description": 'CSV only: a JSON object naming the columns, e.g. {"date": "Valuta",'
            ' "amount": "Umsatz", "date_format": "%d.%m.%Y", "decimal": ","}; or a preset'
            f" name ({', '.join(CSV_PRESETS)})"
        },
    )

    @validates("file")
    def _a_file(self, value, **_kwargs):
        if not isinstance(value, FileStorage):
            raise ValidationError("Send the statement as a file part named 'file'.")

    @post_load
    def _mapping(self, data, **_kwargs):
        if data.get("mapping") is not None:
            try:
                data["mapping"] = mapping_from_text(data["mapping"])
            except ValueError as exc:
                raise ValidationError(str(exc), "mapping") from None
        return data


class StatementBalance(Schema):
    """A balance the statement states."""

    amount = fields.Integer(metadata={"description": "Signed minor units"})
    amount_display = Display("amount", keyed=True)
    currency = fields.String()
    date = fields.Date(allow_none=True)


class StatementWarning(Schema):
    """Something the file says that does not add up; its lines were still imported."""

    code = fields.String(metadata={"enum": ["balance_mismatch"]})
    message = fields.String()


class StatementImportOut(Schema):
    """What importing a statement file did, line by line, and what the file stated."""

    object = fields.Constant("statement_import")
    account_id = fields.String()
    format = fields.String(metadata={"enum": list(STATEMENT_FORMATS)})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    results = fields.List(fields.Nested(TransactionImportRowOut))
    opening_balance = fields.Nested(StatementBalance, allow_none=True)
    closing_balance = fields.Nested(StatementBalance, allow_none=True)
    warnings = fields.List(fields.Nested(StatementWarning))
