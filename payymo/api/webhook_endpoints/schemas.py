"""Webhook endpoint request and response schemas (the secret appears on create and rotate)."""

from __future__ import annotations

from typing import NamedTuple

from marshmallow import fields, validate

from payymo.api.common import ListArgs, OutputSchema, StrictSchema, UpdateSchema, list_schema
from payymo.api.fields import Text
from payymo.db import utcnow
from payymo.event_types import EVENT_TYPES
from payymo.models.webhook import DELIVERY_STATUSES
from payymo.representations import webhooks as representations

MAX_EVENT_TYPES = 64
_TYPES_HELP = (
    'Event types to receive: names like "invoice.paid", prefixes like "invoice.*", or ["*"] '
    "for every type. Known types: " + ", ".join(EVENT_TYPES)
)


def _url(**kwargs) -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=2048),
        metadata={"description": "https URL the events are POSTed to", "format": "uri"},
        **kwargs,
    )


def _event_types(**kwargs) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        validate=validate.Length(min=1, max=MAX_EVENT_TYPES),
        metadata={"description": _TYPES_HELP},
        **kwargs,
    )


class WebhookEndpointCreate(StrictSchema):
    """Subscribe a URL (a Zapier or Make hook URL, or your own receiver) to events."""

    url = _url(required=True)
    event_types = _event_types(required=True)
    description = Text(500, allow_none=True)


class WebhookEndpointUpdate(UpdateSchema):
    """Change an endpoint; ``enabled: true`` re-enables one that was disabled."""

    url = _url()
    event_types = _event_types()
    description = Text(500, allow_none=True)
    enabled = fields.Boolean()


def _endpoint_now(ep) -> dict:
    return representations.endpoint(ep, now=utcnow())


class WebhookEndpointOut(OutputSchema):
    """A webhook endpoint (never its secret)."""

    represent = staticmethod(_endpoint_now)

    object = fields.Constant("webhook_endpoint")
    id = fields.String()
    url = fields.String()
    event_types = fields.List(fields.String())
    description = fields.String(allow_none=True)
    enabled = fields.Boolean()
    disabled_reason = fields.String(
        allow_none=True, metadata={"description": "Why it was disabled, in plain words"}
    )
    previous_secret_expires_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "While a rotated secret still signs beside the new one"},
    )
    failing_since = fields.DateTime(
        allow_none=True,
        metadata={"description": "First failure since the last success; 3 days disables"},
    )
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class IssuedSecret(NamedTuple):
    """An endpoint together with its new secret, for the one response that shows it."""

    endpoint: object
    secret: str


def _with_secret(issued: IssuedSecret) -> dict:
    return {**_endpoint_now(issued.endpoint), "secret": issued.secret}


class WebhookEndpointWithSecret(WebhookEndpointOut):
    """An endpoint just created or rotated; ``secret`` is shown here and never again."""

    represent = staticmethod(_with_secret)

    secret = fields.String(
        metadata={"description": "whsec_… signing secret: shown once, store it now"}
    )


class WebhookEndpointDeleted(OutputSchema):
    """What DELETE answers: the endpoint is gone, with its delivery history."""

    object = fields.Constant("webhook_endpoint")
    id = fields.String()
    deleted = fields.Constant(True)


WebhookEndpointList = list_schema(WebhookEndpointOut, "WebhookEndpointList")


class WebhookEndpointListArgs(ListArgs):
    """Pagination for ``GET /webhook_endpoints``."""


class WebhookAttemptOut(OutputSchema):
    """One HTTP attempt."""

    number = fields.Integer()
    attempted_at = fields.DateTime()
    status_code = fields.Integer(allow_none=True)
    duration_ms = fields.Integer()
    response_excerpt = fields.String(
        allow_none=True, metadata={"description": "The first 1 KiB of the response"}
    )
    error = fields.String(allow_none=True, metadata={"description": "What went wrong"})


def _delivery(view) -> dict:
    return representations.delivery(view.row, view.attempts, view.event_type)


class WebhookDeliveryOut(OutputSchema):
    """One event owed to the endpoint, and every attempt made."""

    represent = staticmethod(_delivery)

    object = fields.Constant("webhook_delivery")
    id = fields.String()
    endpoint_id = fields.String()
    tenant_id = fields.String(metadata={"description": "Whose event it is"})
    event_id = fields.String()
    event_type = fields.String()
    status = fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempt_count = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    attempts = fields.List(fields.Nested(WebhookAttemptOut))


WebhookDeliveryList = list_schema(WebhookDeliveryOut, "WebhookDeliveryList")


class WebhookDeliveryListArgs(ListArgs):
    """Filters and pagination for ``GET /webhook_endpoints/{id}/deliveries``."""

    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    event_id = fields.String(validate=validate.Length(min=1, max=64))
