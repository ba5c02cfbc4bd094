"""Bank-data provider credential schemas."""

from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields

from payymo.api.common import OutputSchema


class CredentialsIn(Schema):
    """The provider's credential fields (GoCardless: secret_id, secret_key), all required."""

    class Meta:
        unknown = INCLUDE  # the provider decides which fields it takes; checked by the service


class CredentialsOut(OutputSchema):
    """Which credentials a provider uses for this tenant; secrets are never shown."""

    object = fields.Constant("bank_provider_credentials")
    provider = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")
    configured = fields.Boolean()
    source = fields.String(
        allow_none=True,
        metadata={"enum": ["tenant", "platform", None], "description": "Whose credentials apply"},
    )
    credentials = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "The tenant's own fields, masked to their last four characters"},
    )
