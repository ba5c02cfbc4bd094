"""Event response schemas and list filters: the same document a webhook delivers."""

from __future__ import annotations

from marshmallow import ValidationError, fields, validate, validates_schema

from payymo.api.common import ListArgs, OutputSchema, StrictSchema, SyncArgs, list_schema
from payymo.api.fields import FullMatch
from payymo.event_types import EVENT_TYPES
from payymo.representations import events as representations

EVENT_TYPE_FILTER = validate.And(
    validate.Length(max=100),
    FullMatch(
        r"[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?",
        error="must be an event type like invoice.created, or a prefix like invoice.*",
    ),
)


class EventOut(OutputSchema):
    """Something that happened to the tenant's data: exactly what a webhook body carries."""

    represent = staticmethod(representations.event)

    object = fields.Constant("event")
    id = fields.String(metadata={"description": "evt_…; also the webhook-id header"})
    event_type = fields.String(
        attribute="type", metadata={"example": "invoice.paid", "enum": list(EVENT_TYPES)}
    )
    timestamp = fields.DateTime(attribute="created_at")
    tenant_id = fields.String()
    api_version = fields.Constant(
        representations.API_VERSION, metadata={"description": "The payload's version"}
    )
    request_id = fields.String(
        allow_none=True, metadata={"description": "The API request that caused it, if any"}
    )
    data = fields.Dict(
        metadata={
            "description": "`object`: the resource as its GET endpoint shows it; "
            "`previous_attributes` on updates. Each type's schema: components EventData.*"
        }
    )


EventList = list_schema(EventOut, "EventList", sync=True)


class EventListArgs(SyncArgs, ListArgs):
    """Filters, pagination and ``sync_token`` for ``GET /events``."""

    SYNC_FILTERS = ("type", "event_type")  # an event never changes type

    event_type = fields.String(
        validate=EVENT_TYPE_FILTER,
        metadata={"description": "Exact type (invoice.paid) or prefix (invoice.*)"},
    )
    type = fields.String(
        validate=EVENT_TYPE_FILTER, metadata={"description": "The same as event_type"}
    )

    @validates_schema
    def _one_type(self, data, **_kwargs):
        if "type" in data and "event_type" in data and data["type"] != data["event_type"]:
            raise ValidationError("pass event_type or type, not two different ones.", "type")


class EventTypeOut(OutputSchema):
    """An event type and what it means."""

    object = fields.Constant("event_type")
    event_type = fields.String()
    description = fields.String()


class EventTypeList(OutputSchema):
    """Every event type."""

    object = fields.Constant("list")
    data = fields.List(fields.Nested(EventTypeOut))


class RedeliverArgs(StrictSchema):
    """Which endpoint to send to again; every subscribed enabled endpoint when left out."""

    endpoint_id = fields.String(validate=validate.Length(min=1, max=64))
