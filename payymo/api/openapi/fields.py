"""How our own marshmallow fields and schemas appear in the document, where apispec cannot tell."""

from __future__ import annotations

from apispec import BasePlugin
from marshmallow import fields

from payymo.api.common import UpdateSchema
from payymo.api.fields import MAX_UNIX_SECONDS, Timestamp


def timestamp_property(converter, field, ret: dict, **_kwargs) -> dict:
    """A ``Timestamp`` takes ISO 8601 or unix seconds (a JSON integer, or digits in a query).

    apispec sees a DateTime (``type: string, format: date-time``), which would call an
    integer invalid although the API takes it; the property says what the field takes.
    """
    if not isinstance(field, Timestamp):
        return {}
    ret.pop("type", None)
    ret.pop("format", None)
    return {
        "anyOf": [
            {"type": "string", "format": "date-time"},
            {"type": "integer", "minimum": 0, "maximum": MAX_UNIX_SECONDS},
            {"type": "string", "pattern": "^[0-9]{1,12}$"},
        ]
    }


def constant_property(converter, field, ret: dict, **_kwargs) -> dict:
    """A ``Constant`` (``"object": "invoice"``) is that one string, not an untyped default."""
    if isinstance(field, fields.Constant) and isinstance(field.constant, str):
        return {"type": "string", "enum": [field.constant]}
    return {}


def install(api) -> None:
    """Teach the Api's marshmallow converter our fields."""
    api.ma_plugin.converter.add_attribute_function(timestamp_property)
    api.ma_plugin.converter.add_attribute_function(constant_property)


class SchemaRules(BasePlugin):
    """Rules a whole schema enforces: a PATCH body (``UpdateSchema``) changes something."""

    def schema_helper(self, name, definition, schema=None, **kwargs) -> dict | None:
        """``minProperties: 1`` for a PATCH body, as its ``{}`` is a 400."""
        cls = schema if isinstance(schema, type) else type(schema)
        if schema is not None and issubclass(cls, UpdateSchema):
            return {"minProperties": 1}
        return None
