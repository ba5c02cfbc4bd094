"""Reconciliation request and response schemas."""

from __future__ import annotations

from marshmallow import Schema, fields

from payymo import money
from payymo.api.common import OutputSchema, list_schema
from payymo.models.reconciliation import MATCH_METHODS, MATCH_STATUSES


class AllocationOut(Schema):
    """One allocation line: this much went to this invoice."""

    invoice_id = fields.String()
    amount = fields.Integer()
    amount_display = fields.Function(lambda a: money.to_display(a.amount, a.currency))


class ReasonOut(Schema):
    """A machine code and a sentence."""

    code = fields.String()
    text = fields.String()


class MatchOut(OutputSchema):
    """A match as the API and events show it."""

    object = fields.Constant("match")
    id = fields.String()
    transaction_id = fields.String()
    allocations = fields.List(fields.Nested(AllocationOut))
    amount = fields.Integer()
    currency = fields.String()
    method = fields.String(metadata={"enum": list(MATCH_METHODS)})
    confidence = fields.Float(allow_none=True)
    reasons = fields.List(fields.Nested(ReasonOut))
    status = fields.String(metadata={"enum": list(MATCH_STATUSES)})
    created_by = fields.String()
    created_at = fields.DateTime()
    reversed_at = fields.DateTime(allow_none=True)
    reversed_by = fields.String(allow_none=True)
    suggestion_id = fields.String(allow_none=True)


MatchList = list_schema(MatchOut, "MatchList")
