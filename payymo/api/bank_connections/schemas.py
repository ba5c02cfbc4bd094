"""Bank connection request and response schemas."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from payymo.api.common import ListArgs, OutputSchema, StrictSchema, list_schema
from payymo.api.fields import NO_CONTROL, StrictInteger
from payymo.models.banking import CONNECTION_STATUSES

INSTITUTION_ID = validate.Regexp(
    r"^[A-Za-z0-9_\-]{1,100}$", error="Not an institution id: letters, digits, '_' and '-'."
)


def _http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("Must be an absolute http(s) URL the end user is sent back to.")


class BankConnectionCreate(StrictSchema):
    """Start connecting a bank: the answer's ``link`` is where the end user gives consent."""

    institution_id = fields.String(required=True, validate=INSTITUTION_ID)
    redirect_url = fields.String(
        required=True,
        validate=[validate.Length(max=2000), NO_CONTROL, _http_url],
        metadata={
            "description": "Where the end user lands after the bank, with connection_id "
            "and status (linked, pending or error) added to the query"
        },
    )
    max_historical_days = StrictInteger(
        validate=validate.Range(min=1, max=730),
        metadata={"description": "Days of history to ask for; default and cap: the bank's"},
    )
    access_valid_for_days = StrictInteger(
        validate=validate.Range(min=1, max=180),
        metadata={"description": "Days the consent lasts; default 180, capped by the bank"},
    )


class BalanceOut(OutputSchema):
    """A balance as the bank last reported it."""

    kind = fields.String(metadata={"description": "The bank's balance type, e.g. closingBooked"})
    amount = fields.Integer(allow_none=True, metadata={"description": "Signed minor units"})
    amount_display = fields.String(allow_none=True)
    currency = fields.String()
    reference_date = fields.String(allow_none=True, metadata={"format": "date"})


class ConnectionAccountOut(OutputSchema):
    """A bank account a connection syncs (see GET /bank_accounts/{id})."""

    id = fields.String()
    name = fields.String()
    iban = fields.String(allow_none=True)
    currency = fields.String()
    owner_name = fields.String(allow_none=True)
    linked = fields.Boolean(
        metadata={"description": "False once a new consent no longer grants the account"}
    )
    balances = fields.List(fields.Nested(BalanceOut))
    balances_updated_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    last_synced_at = fields.String(allow_none=True, metadata={"format": "date-time"})


def _time(description: str | None = None):
    metadata = {"format": "date-time"} | ({"description": description} if description else {})
    return fields.String(allow_none=True, metadata=metadata)


class BankConnectionOut(OutputSchema):
    """A connection to a bank through a bank-data provider."""

    object = fields.Constant("bank_connection")
    id = fields.String()
    provider = fields.String(metadata={"example": "gocardless"})
    institution_id = fields.String()
    institution_name = fields.String(allow_none=True)
    status = fields.String(metadata={"enum": list(CONNECTION_STATUSES)})
    link = fields.String(
        allow_none=True, metadata={"description": "The consent page, while status is pending"}
    )
    redirect_url = fields.String()
    max_historical_days = fields.Integer()
    access_valid_for_days = fields.Integer()
    linked_at = _time()
    access_expires_at = _time("When the consent ends; reconnect before then")
    last_synced_at = _time()
    next_sync_at = _time("When the next sync is planned (or allowed, after a rate limit)")
    last_error = fields.String(allow_none=True, metadata={"description": "In plain words"})
    last_error_code = fields.String(allow_none=True)
    accounts = fields.List(fields.Nested(ConnectionAccountOut))
    created_at = _time()
    updated_at = _time()


BankConnectionList = list_schema(BankConnectionOut, "BankConnectionList")


class BankConnectionListArgs(ListArgs):
    """Filters for ``GET /bank_connections``."""

    status = fields.String(validate=validate.OneOf(CONNECTION_STATUSES))


class CallbackArgs(Schema):
    """What the provider's redirect carries back; the provider adds parameters of its own."""

    class Meta:
        unknown = EXCLUDE

    state = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_\-]{1,64}$", error="Not a consent reference."),
        metadata={"description": "The consent's reference, as Payymo put it in the redirect URL"},
    )
