"""Stripe linking: what PUT takes and what the integration looks like (key masked)."""

from __future__ import annotations

from marshmallow import fields, validate

from payymo.api.common import OutputSchema, StrictSchema


class StripeLinkIn(StrictSchema):
    """The tenant's Stripe key and its webhook endpoint's signing secret."""

    api_key = fields.String(
        required=True,
        validate=validate.Length(min=10, max=255),
        metadata={"description": "A secret (sk_…) or restricted (rk_…) key; checked live"},
    )
    webhook_secret = fields.String(
        required=True,
        validate=validate.Length(min=10, max=255),
        metadata={"description": "The whsec_… secret of the Stripe webhook endpoint"},
    )


class StripeIntegrationOut(OutputSchema):
    """Whether Stripe is linked, with which key (masked), and where its webhooks go."""

    object = fields.Constant("stripe_integration")
    status = fields.String(metadata={"enum": ["linked", "not_linked"]})
    key_hint = fields.String(allow_none=True, metadata={"example": "sk_test_…4242"})
    livemode = fields.Boolean(allow_none=True)
    webhook_url = fields.String(
        metadata={"description": "Add this URL as an endpoint in Stripe's dashboard"}
    )
    linked_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    last_synced_at = fields.String(allow_none=True, metadata={"format": "date-time"})
