"""Bank account request and response schemas."""

from __future__ import annotations

from marshmallow import fields, validate

from payymo.api.common import ListArgs, OutputSchema, StrictSchema, list_schema
from payymo.api.fields import NO_CONTROL, NOT_BLANK, CurrencyCode, Iban
from payymo.models.banking import ACCOUNT_KINDS

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
