"""Shared API pieces: the strict Blueprint, list arguments and list envelopes."""

from __future__ import annotations

import functools

from flask import request
from flask_smorest import Blueprint as SmorestBlueprint
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from payymo import ids
from payymo.errors import InvalidRequest
from payymo.pagination import DEFAULT_LIMIT, MAX_LIMIT
from payymo.sync_tokens import START


class StrictParser(FlaskParser):
    """Validation errors are 400s; unknown query parameters are rejected too."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}

    def load_multipart(self, req, schema):
        """A multipart body's form fields and files, as one set of arguments."""
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)

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
    # One body only: a file upload's form fields travel in the same multipart body.
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {
        **SmorestBlueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
        "multipart": "multipart/form-data",
    }

    def arguments(self, schema, *, location="json", required=True, **kwargs):
        """flask-smorest's ``arguments``; a body the document calls required is required.

        webargs reads a missing JSON body as ``{}``, which would quietly accept what the
        OpenAPI document says must be sent: an absent body is a 400 ``parameter_missing``.
        """
        decorator = super().arguments(schema, location=location, required=required, **kwargs)
        if location != "json" or not required:
            return decorator

        def with_body(func):
            parsed = decorator(func)

            @functools.wraps(parsed)
            def view(*args, **view_kwargs):
                if not request.get_data(cache=True).strip():
                    raise InvalidRequest(
                        "This request needs a JSON body.", code="parameter_missing"
                    )
                return parsed(*args, **view_kwargs)

            return view

        return with_body


class StrictSchema(Schema):
    """Unknown fields are an error, never silently dropped."""

    class Meta:
        unknown = RAISE


class UpdateSchema(StrictSchema):
    """A PATCH body: at least one field, since an empty change is always a client mistake."""

    @pre_load
    def _not_empty(self, data, **_kwargs):
        if isinstance(data, dict) and not data:
            names = ", ".join(n for n, f in self.fields.items() if not f.metadata.get("readOnly"))
            raise InvalidRequest(
                f"Send at least one field to change: {names}.", code="parameter_missing"
            )
        return data


class ListArgs(StrictSchema):
    """``limit``, ``starting_after``, ``ending_before``."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )
    starting_after = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"pattern": ids.ID_PATTERN, "description": "The id of the last item seen"},
    )
    ending_before = fields.String(
        validate=validate.Length(min=1, max=64),
        metadata={"pattern": ids.ID_PATTERN, "description": "The id of the first item seen"},
    )


class SyncArgs(StrictSchema):
    """``sync_token``: every change since the token, oldest first, alone or with ``limit``.

    Filters would hide a row that stops matching them (an invoice leaving ``status=open``
    would never come back as paid), so only those in ``SYNC_FILTERS`` (on fields that
    never change) may come along; the token remembers them.
    """

    SYNC_FILTERS: tuple[str, ...] = ()

    sync_token = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": f"Incremental sync: {START} to start, then the next_sync_token "
            "of the previous page. Rows changed since, oldest first; a row may come twice."
        },
    )

    @validates_schema
    def _alone(self, data, **_kwargs):
        if "sync_token" not in data:
            return
        for name in data:
            if name not in ("sync_token", "limit", *self.SYNC_FILTERS):
                raise ValidationError(
                    "cannot be combined with sync_token (a sync returns every change).", name
                )


_PLAIN_FIELDS = (fields.String, fields.Integer, fields.Boolean)
_ISO_FORMATS = (None, "iso", "iso8601")
_BASE_GET = Schema.get_attribute
_CONSTANT = object()  # plan marker: the field's constant, no attribute read
_FUNCTION = object()  # plan marker: the field's function of the whole object


def _fast_nested(field) -> OutputSchema | None:
    """The nested OutputSchema a Nested field dumps with no hooks in between, or None."""
    if type(field) is not fields.Nested or field.many:
        return None
    schema = field.schema
    if not isinstance(schema, OutputSchema) or schema.many or any(schema._hooks.values()):
        return None
    return schema


def _converter(field):
    """A function from attribute value to dumped value that skips marshmallow's machinery.

    None means "serialise through the field"; only exact field types whose output is
    known are converted (a test checks each against plain marshmallow).
    """
    kind = type(field)
    if kind in _PLAIN_FIELDS:
        return _identity
    if kind is fields.Constant:
        return _CONSTANT
    if kind is fields.Function and field.serialize_func is not None:
        return _FUNCTION
    if kind in (fields.DateTime, fields.Date) and field.format in _ISO_FORMATS:
        return _isoformat
    if kind is fields.Float and not field.as_string:
        return _float
    if (nested := _fast_nested(field)) is not None:
        return lambda value: None if value is None else nested._serialize(value)
    if kind is fields.List and (nested := _fast_nested(field.inner)) is not None:
        return lambda value: None if value is None else [nested._serialize(v) for v in value]
    return None


def _identity(value):
    return value


def _isoformat(value):
    return None if value is None else value.isoformat()


def _float(value):
    return None if value is None else float(value)


class OutputSchema(Schema):
    """A response schema that dumps known field types without marshmallow's per-field calls.

    Lists and event payloads dump thousands of fields; for plain, constant, ISO date,
    float, function and nested-OutputSchema fields the result is known, so it is produced
    directly. Every other field (dicts, methods, custom fields) serialises as usual.

    A schema whose document has a function in ``payymo.representations`` names it in
    ``represent``: objects dump through it, and a test holds it to the fields.
    """

    represent = None

    def _serialize(self, obj, *, many: bool = False):
        if many and obj is not None:
            return [self._serialize(item) for item in obj]
        if self.represent is not None and obj is not None and not isinstance(obj, dict):
            return self.represent(obj)
        return self.dump_by_fields(obj)

    def dump_by_fields(self, obj) -> dict:
        """``obj`` dumped field by field, ignoring ``represent``."""
        if obj is None or isinstance(obj, dict) or type(self).get_attribute is not _BASE_GET:
            return super()._serialize(obj, many=False)
        plan = self.__dict__.get("_dump_plan")
        if plan is None:
            plan = self._dump_plan = [
                (field.data_key or name, field.attribute or name, field, _converter(field))
                for name, field in self.dump_fields.items()
            ]
        out = {}
        for key, attr, field, convert in plan:
            if convert is None:
                out[key] = field.serialize(attr, obj, accessor=self.get_attribute)
            elif convert is _CONSTANT:
                out[key] = field.constant
            elif convert is _FUNCTION:
                out[key] = field.serialize_func(obj)
            else:
                out[key] = convert(getattr(obj, attr))
        return out


class ListMeta(OutputSchema):
    """Fields every list envelope carries."""

    object = fields.Constant("list")
    has_more = fields.Boolean()
    next_cursor = fields.String(allow_none=True)


class SyncListMeta(ListMeta):
    """A list envelope that also answers ``sync_token`` calls."""

    next_sync_token = fields.String(
        allow_none=True,
        metadata={"description": "With sync_token: the token for the next call (null without)"},
    )


def list_schema(item: type[Schema], name: str, *, sync: bool = False) -> type[Schema]:
    """A list envelope ``{object, data, has_more, next_cursor}`` around ``item``.

    ``sync`` adds ``next_sync_token`` for lists that accept ``sync_token``.
    """
    meta = SyncListMeta if sync else ListMeta
    return type(name, (meta,), {"data": fields.List(fields.Nested(item))})


def page_args(args: dict) -> dict:
    """Pop the pagination (and sync) arguments out of parsed query ``args``."""
    names = ("limit", "starting_after", "ending_before", "sync_token")
    return {k: args.pop(k) for k in names if k in args}
