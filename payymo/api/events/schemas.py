"""Event response schemas and list filters."""

from __future__ import annotations

from marshmallow import fields, validate

from payymo.api.common import ListArgs, OutputSchema, SyncArgs, list_schema
from payymo.api.fields import FullMatch

EVENT_TYPE_FILTER = validate.And(
    validate.Length(max=100),
    FullMatch(
        r"[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?",
        error="must be an event type like invoice.created, or a prefix like invoice.*",
    ),
)


class EventOut(OutputSchema):
    """Something that happened to the tenant's data."""

    object = fields.Constant("event")
    id = fields.String()
    type = fields.String(metadata={"example": "invoice.created"})
    data = fields.Dict()
    created_at = fields.DateTime()
    request_id = fields.String(allow_none=True)


EventList = list_schema(EventOut, "EventList", sync=True)


class EventListArgs(SyncArgs, ListArgs):
    """Filters, pagination and ``sync_token`` for ``GET /events``."""

    SYNC_FILTERS = ("type",)  # an event never changes type

    type = fields.String(
        validate=EVENT_TYPE_FILTER,
        metadata={"description": "Exact type (invoice.created) or prefix (invoice.*)"},
    )
