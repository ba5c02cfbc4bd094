"""API key request and response schemas (the secret appears once, on create and roll)."""

from __future__ import annotations

from typing import NamedTuple

from marshmallow import fields, validate

from payymo import auth
from payymo.api.common import ListArgs, OutputSchema, StrictSchema, list_schema
from payymo.api.fields import StrictInteger, Text, Timestamp
from payymo.db import utcnow
from payymo.models import ApiKey

MAX_ROLL_HOURS = 7 * 24


def key_status(key: ApiKey) -> str:
    """``active``, ``expired`` or ``revoked``."""
    if key.revoked_at is not None:
        return "revoked"
    if key.expires_at is not None and key.expires_at <= utcnow():
        return "expired"
    return "active"


class ApiKeyCreate(StrictSchema):
    """Create a key with explicit scopes."""

    name = Text(100, allow_none=True)
    scopes = fields.List(
        fields.String(validate=validate.OneOf(auth.SCOPES)),
        required=True,
        validate=validate.Length(min=1, max=len(auth.SCOPES)),
    )
    mode = fields.String(load_default="live", validate=validate.OneOf(auth.KEY_MODES))
    expires_at = Timestamp(
        allow_none=True,
        metadata={"description": "ISO 8601 with offset, or unix seconds; in the future"},
    )


class ApiKeyRoll(StrictSchema):
    """How long the old key keeps working after a roll (0 revokes it now)."""

    expires_in_hours = StrictInteger(
        load_default=24, validate=validate.Range(min=0, max=MAX_ROLL_HOURS)
    )


class ApiKeyOut(OutputSchema):
    """A key as listed: its prefix only, never the secret or its hash."""

    object = fields.Constant("api_key")
    id = fields.String()
    name = fields.String(allow_none=True)
    mode = fields.String(metadata={"enum": list(auth.KEY_MODES)})
    prefix = fields.String()
    scopes = fields.List(fields.String())
    status = fields.String(metadata={"enum": ["active", "expired", "revoked"]})
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    rolled_to = fields.String(attribute="rolled_to_id", allow_none=True)

    def get_attribute(self, obj: ApiKey, attr, default):
        if attr == "status":
            return key_status(obj)
        return super().get_attribute(obj, attr, default)


class IssuedKey(NamedTuple):
    """A key together with its secret, for the one response that shows it."""

    key: ApiKey
    secret: str


class ApiKeyWithSecret(ApiKeyOut):
    """A key just created or rolled; ``secret`` is shown here and never again."""

    secret = fields.String(metadata={"description": "Shown once; store it now"})

    def get_attribute(self, obj: IssuedKey, attr, default):
        if attr == "secret":
            return obj.secret
        return super().get_attribute(obj.key, attr, default)


ApiKeyList = list_schema(ApiKeyOut, "ApiKeyList")


class ApiKeyListArgs(ListArgs):
    """Pagination for ``GET /api_keys``."""
