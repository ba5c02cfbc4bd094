"""Partner webhook endpoint schemas: the tenant endpoint's, plus a tenant to test with."""

from __future__ import annotations

from marshmallow import fields, validate

from payymo.api.common import StrictSchema
from payymo.api.webhook_endpoints.schemas import WebhookDeliveryListArgs


class PartnerTestIn(StrictSchema):
    """Which tenant's event the test is (the oldest active tenant when left out)."""

    tenant_id = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "One of your tenants: ten_…"},
    )


class PartnerDeliveryListArgs(WebhookDeliveryListArgs):
    """Filters and pagination for a partner endpoint's deliveries."""

    tenant_id = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Only this tenant's events"},
    )
