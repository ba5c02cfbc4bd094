"""Branding: validated strictly (a colour is #rrggbb, a logo is an https URL)."""

from __future__ import annotations

from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

from payymo.api.common import StrictSchema

_COLOUR = validate.Regexp(r"^#[0-9a-fA-F]{6}$", error="Give a colour as #rrggbb, e.g. #1a73e8.")
_HOST = validate.Regexp(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$",
    error="Give a host name such as pay.example.com (no scheme, no path).",
)


def _https_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValidationError("The logo must be an https:// URL.")
    if parts.username or parts.password:
        raise ValidationError("The logo URL must not carry credentials.")


class BrandingIn(StrictSchema):
    """The partner's branding; what is left out is cleared."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    logo_url = fields.String(
        allow_none=True, validate=validate.And(validate.Length(max=2000), _https_url)
    )
    primary_color = fields.String(allow_none=True, validate=_COLOUR)
    support_email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    custom_domain = fields.String(allow_none=True, validate=_HOST)


class BrandingOut(Schema):
    """The partner's branding as its portal shows it."""

    object = fields.Constant("partner_branding")
    name = fields.String()
    logo_url = fields.String(allow_none=True)
    primary_color = fields.String(allow_none=True)
    support_email = fields.String(allow_none=True)
    custom_domain = fields.String(allow_none=True)
