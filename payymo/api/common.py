"""Shared API pieces: the strict Blueprint, list arguments and list envelopes."""

from __future__ import annotations

from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import RAISE, Schema, fields, validate
from webargs.flaskparser import FlaskParser

from payymo.errors import InvalidRequest
from payymo.pagination import DEFAULT_LIMIT, MAX_LIMIT


class StrictParser(FlaskParser):
    """Validation errors are 400s; unknown query parameters are rejected too."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }

    def load_json(self, req, schema):
        """The JSON body; nesting past the parser's recursion limit is invalid JSON, not a 500."""
        try:
            return super().load_json(req, schema)
        except RecursionError:
            raise InvalidRequest(
                "The request body is not valid JSON.", code="invalid_json"
            ) from None


class Blueprint(SmorestBlueprint):
    """flask-smorest Blueprint using the strict parser."""

    ARGUMENTS_PARSER = StrictParser()


class StrictSchema(Schema):
    """Unknown fields are an error, never silently dropped."""

    class Meta:
        unknown = RAISE


class ListArgs(StrictSchema):
    """``limit``, ``starting_after``, ``ending_before``."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )
    starting_after = fields.String(validate=validate.Length(max=64))
    ending_before = fields.String(validate=validate.Length(max=64))


_PLAIN_FIELDS = (fields.String, fields.Integer, fields.Boolean)
_BASE_GET = Schema.get_attribute


class OutputSchema(Schema):
    """A response schema that reads plain attribute fields directly.

    Lists dump thousands of fields per request; for String/Integer/Boolean fields over
    ORM objects marshmallow's per-field machinery returns the attribute unchanged, so
    it is skipped. Every other field (dates, functions, nested) serialises as usual.
    """

    def _serialize(self, obj, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        if obj is None or isinstance(obj, dict) or type(self).get_attribute is not _BASE_GET:
            return super()._serialize(obj, many=False)
        plan = self.__dict__.get("_dump_plan")
        if plan is None:
            plan = self._dump_plan = [
                (
                    field.data_key or name,
                    field.attribute or name,
                    field,
                    type(field) in _PLAIN_FIELDS,
                )
                for name, field in self.dump_fields.items()
            ]
        return {
            key: getattr(obj, attr)
            if plain
            else field.serialize(attr, obj, accessor=self.get_attribute)
            for key, attr, field, plain in plan
        }


class ListMeta(OutputSchema):
    """Fields every list envelope carries."""

    object = fields.Constant("list")
    has_more = fields.Boolean()
    next_cursor = fields.String(allow_none=True)


def list_schema(item: type[Schema], name: str) -> type[Schema]:
    """A list envelope ``{object, data, has_more, next_cursor}`` around ``item``."""
    return type(name, (ListMeta,), {"data": fields.List(fields.Nested(item))})


def page_args(args: dict) -> dict:
    """Pop the pagination arguments out of parsed query ``args``."""
    return {k: args.pop(k) for k in ("limit", "starting_after", "ending_before") if k in args}
