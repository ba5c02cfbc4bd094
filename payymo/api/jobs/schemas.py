"""Job response schema."""

from __future__ import annotations

from marshmallow import fields, validate

from payymo.api.common import ListArgs, OutputSchema, list_schema
from payymo.models.job import JOB_STATUSES, JOB_TYPES


class JobOut(OutputSchema):
    """A background job's state and, once it ran, its result counts."""

    object = fields.Constant("job")
    id = fields.String()
    type = fields.String(metadata={"enum": list(JOB_TYPES)})
    subject_id = fields.String(
        allow_none=True,
        metadata={
            "description": "What the job works on (a bank sync's connection id); null for the whole tenant"
        },
    )
    status = fields.String(metadata={"enum": list(JOB_STATUSES)})
    result = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        allow_none=True,
        metadata={"description": "Counts so far while running; final counts once succeeded"},
    )
    error = fields.String(
        allow_none=True, metadata={"description": "Why it failed (or was not retried)"}
    )
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    attempts = fields.Integer(metadata={"description": "How many times a worker started it"})
    next_attempt_at = fields.DateTime(
        allow_none=True,
        metadata={"description": "When a failed job is retried; null once it is not retried"},
    )


JobList = list_schema(JobOut, "JobList")


class JobListArgs(ListArgs):
    """Filters and pagination for ``GET /jobs``."""

    type = fields.String(validate=validate.OneOf(JOB_TYPES))
    status = fields.String(validate=validate.OneOf(JOB_STATUSES))
