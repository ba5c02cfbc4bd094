"""Documents: how a resource looks in API answers and in event payloads, one function each.

The API's output schemas describe these documents (OpenAPI) and dump through them, so an
object in an event and the same object from its GET endpoint are one document.
"""


def iso(value):
    """A date or datetime as ISO 8601 text, None as None."""
    return None if value is None else value.isoformat()
