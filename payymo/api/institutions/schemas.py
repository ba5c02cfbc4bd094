"""Institution schemas."""

from __future__ import annotations

import pycountry
from marshmallow import ValidationError, fields

from payymo.api.common import OutputSchema, StrictSchema


def _country(value: str) -> None:
    if len(value) != 2 or pycountry.countries.get(alpha_2=value.upper()) is None:
        raise ValidationError("Not an ISO 3166 country code: send two letters such as GB or DE.")


class InstitutionArgs(StrictSchema):
    """``GET /institutions`` query."""

    country = fields.String(
        required=True,
        validate=_country,
        metadata={"description": "ISO 3166 alpha-2 country code (GB, DE …)", "example": "GB"},
    )


class InstitutionOut(OutputSchema):
    """A bank that can be connected."""

    object = fields.Constant("institution")
    id = fields.String(metadata={"description": "Pass as institution_id to POST /bank_connections"})
    name = fields.String()
    bic = fields.String(allow_none=True)
    countries = fields.List(fields.String())
    logo = fields.String(allow_none=True)
    max_historical_days = fields.Integer(attribute="max_history_days")
    max_access_valid_for_days = fields.Integer(attribute="max_access_days")


class InstitutionList(OutputSchema):
    """Every bank of a country (not paginated: a country has a few hundred at most)."""

    object = fields.Constant("list")
    data = fields.List(fields.Nested(InstitutionOut))
    has_more = fields.Boolean(metadata={"description": "Always false: one page holds them all"})
