"""Event response schemas and list filters."""

from __future__ import annotations

from marshmallow import fields, validate

from payymo.api.common import ListArgs, OutputSchema, list_schema
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


EventList = list_schema(EventOut, "EventList")


class EventListArgs(ListArgs):
    """Filters for ``GET /events``."""

    type = fields.String(
        validate=EVENT_TYPE_FILTER,
        metadata={"description": "Exact type (invoice.created) or prefix (invoice.*)"},
    )
