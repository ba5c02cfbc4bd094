"""Parse batch rows one by one, so a bad row never sinks the good ones."""

from __future__ import annotations

from marshmallow import Schema, ValidationError

from payymo.api.errors import validation_error
from payymo.services.batch import RowResult, failed_row


def parse_rows(
    schema: Schema, raw_rows: list, *, prefix: str, noun: str, key: str | None = None
) -> tuple[list[tuple[int, dict]], list[RowResult]]:
    """Validate each row with ``schema``: ``(index, data)`` pairs and error results."""
    parsed, failed = [], []
    for index, row in enumerate(raw_rows):
        ident = row.get(key) if key and isinstance(row, dict) else None
        try:
            if not isinstance(row, dict):
                raise ValidationError({"_schema": [f"Each {noun} must be a JSON object."]})
            parsed.append((index, schema.load(row)))
        except ValidationError as exc:
            failed.append(
                failed_row(
                    validation_error({"json": exc.messages}),
                    index=index,
                    prefix=prefix,
                    external_id=ident if isinstance(ident, str) else None,
                )
            )
    return parsed, failed
