"""Partner requests and responses: provisioning tenants, their usage, suspension."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

from payymo.api.common import ListArgs, StrictSchema, list_schema
from payymo.api.fields import CurrencyCode
from payymo.api.tenant.schemas import TenantOut, TenantSettingsIn
from payymo.models.banking import CONNECTION_STATUSES
from payymo.services.partners.tenants import STATUSES


class TenantProvision(StrictSchema):
    """A new tenant for the partner."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    currency = CurrencyCode(required=True, metadata={"description": "The default currency"})
    settings = fields.Nested(TenantSettingsIn)


def _return_url(value: str) -> None:
    parts = urlsplit(value)
    local = parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")
    if not (parts.scheme == "https" or local) or not parts.hostname:
        raise ValidationError("Give an https:// URL (http only for localhost).")


class PortalSessionIn(StrictSchema):
    """A sign-in link for a person of the tenant."""

    return_url = fields.String(
        validate=validate.And(validate.Length(max=2000), _return_url),
        metadata={"description": "Where the portal's back link goes (the partner's app)"},
    )
    expires_in = fields.Integer(
        validate=validate.Range(min=60, max=86_400),
        metadata={"description": "Seconds the link may be opened in (default 900)"},
    )


class PortalSessionOut(Schema):
    """The link to give the person: it signs the browser in once, before it expires."""

    object = fields.Constant("portal_session")
    url = fields.String()
    expires_at = fields.DateTime()


class TenantStatusChange(StrictSchema):
    """Suspend or reactivate a tenant."""

    status = fields.String(
        required=True,
        validate=validate.OneOf(STATUSES),
        metadata={
            "description": "suspended: its keys answer 403, its bank syncs and runs stop; "
            "active: as before"
        },
    )


class PartnerTenantListArgs(ListArgs):
    """Filters for ``GET /partner/tenants``."""

    status = fields.String(validate=validate.OneOf(STATUSES))


BankConnectionCounts = Schema.from_dict(
    {status: fields.Integer() for status in CONNECTION_STATUSES},
    name="BankConnectionCounts",
)


class UsageOut(Schema):
    """What the tenant used."""

    month_transaction_count = fields.Integer(
        metadata={"description": "Transactions it received since the month began (UTC)"}
    )
    bank_connections = fields.Nested(
        BankConnectionCounts,
        metadata={"description": "How many bank connections it has in each state"},
    )
    last_synced_at = fields.DateTime(
        allow_none=True, metadata={"description": "Its latest bank sync, null if none yet"}
    )
    auto_match_rate = fields.Float(
        allow_none=True,
        metadata={"description": "Share of its credits the engine matched on its own"},
    )


class PartnerTenantOut(TenantOut):
    """One of the partner's tenants and its usage."""

    status = fields.String(metadata={"enum": ["active", "suspended", "offboarded"]})
    partner_id = fields.String()
    usage = fields.Nested(UsageOut, allow_none=True)


class ProvisionedTenantOut(Schema):
    """The new tenant and its first API key (the secret is shown this once)."""

    tenant = fields.Nested(PartnerTenantOut)
    api_key = fields.String(metadata={"description": "The tenant's first API key, shown once"})


class OffboardingOut(Schema):
    """A tenant offboarded: when, until when its data is kept, and when it was purged."""

    object = fields.Constant("tenant_offboarding")
    id = fields.String()
    tenant_id = fields.String()
    status = fields.Function(
        lambda r: "purged" if r.purged_at else "offboarded",
        metadata={"type": "string", "enum": ["offboarded", "purged"]},
    )
    tenant_name = fields.String()
    offboarded_at = fields.DateTime()
    purge_after = fields.DateTime(
        metadata={"description": "When the purge deletes its data (PAYYMO_OFFBOARD_RETENTION_DAYS)"}
    )
    purged_at = fields.DateTime(allow_none=True)
    unrevoked_connections = fields.List(
        fields.String(),
        metadata={
            "description": "Bank connections whose consent the provider would not withdraw "
            "(stopped here all the same)"
        },
    )


PartnerTenantList = list_schema(PartnerTenantOut, "PartnerTenantList")
