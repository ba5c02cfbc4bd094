"""Tenant request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

from payymo.api.common import StrictSchema, UpdateSchema
from payymo.api.fields import (
    Amount,
    CurrencyCode,
    ReferencePattern,
    StrictBoolean,
    StrictInteger,
)


class StrictNumber(fields.Float):
    """A JSON number (integer or decimal), never a string or boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError("Not a valid number.")
        return super()._deserialize(value, attr, data, **kwargs)


class ReadOnly(fields.Raw):
    """A field shown in responses that a client may not set."""

    def _deserialize(self, value, attr, data, **kwargs):
        raise ValidationError(f"{attr} is read-only.")


class TenantSettingsIn(StrictSchema):
    """Matching settings; every key optional, merged over the current ones."""

    auto_match_enabled = StrictBoolean()
    auto_match_threshold = StrictNumber(
        validate=validate.Range(min=0, max=1),
        metadata={
            "description": "Evidence score from 0 to 1 (not the calibrated confidence) a "
            "candidate needs to apply automatically, beside a reference or a known IBAN and "
            "a 0.1 lead over the runner-up"
        },
    )
    date_window_days = StrictInteger(validate=validate.Range(min=0, max=365))
    overpayment_tolerance = Amount(
        minimum=0,
        metadata={
            "description": "How much an invoice may be overpaid by, in minor units of the "
            "credit's own currency, whatever it is: 100 is 1.00 EUR, but 100 JPY and 0.100 "
            "BHD (currency exponents 2, 0, 3). One number serves every currency."
        },
    )
    charge_tolerance = Amount(
        minimum=0,
        metadata={
            "description": "How large a likely bank charge (a credit that names its invoice "
            "and arrives a little short) may be and still settle the invoice in full, in "
            "minor units of the credit's own currency; 0 (the default) leaves the shortfall "
            "open as a partial payment."
        },
    )
    reference_pattern = ReferencePattern(allow_none=True)


class TenantUpdate(UpdateSchema):
    """Change the tenant's name, default currency or settings."""

    name = fields.String(validate=validate.Length(min=1, max=200))
    default_currency = CurrencyCode()
    settings = fields.Nested(TenantSettingsIn)
    plan = ReadOnly(metadata={"readOnly": True, "description": "Read-only; sending it is an error"})
    status = ReadOnly(
        metadata={"readOnly": True, "description": "Read-only; sending it is an error"}
    )


class TenantSettingsOut(Schema):
    """The effective settings (stored values over the defaults)."""

    auto_match_enabled = fields.Boolean()
    auto_match_threshold = fields.Float()
    date_window_days = fields.Integer()
    overpayment_tolerance = fields.Integer()
    charge_tolerance = fields.Integer()
    reference_pattern = fields.String(allow_none=True)


class TenantOut(Schema):
    """The caller's tenant."""

    object = fields.Constant("tenant")
    id = fields.String()
    name = fields.String()
    status = fields.String(metadata={"enum": ["active", "suspended"]})
    plan = fields.String()
    default_currency = fields.String()
    settings = fields.Nested(TenantSettingsOut, attribute="effective_settings")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
