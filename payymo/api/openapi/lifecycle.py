"""Headers, errors, Idempotency-Key and servers: what every operation shares.

The behaviour described here lives in the request lifecycle (request ids, rate limits,
body checks, Idempotency-Key), not in any one view, so it is documented once, here,
for every operation, by an apispec plugin.
"""

from __future__ import annotations

import re

from apispec import BasePlugin

from payymo.idempotency import MAX_KEY_LENGTH

SERVERS = [{"url": "/", "description": "The server this document was loaded from"}]
WRITES = ("post", "put", "patch", "delete")

HEADERS = {
    "X-Request-Id": {
        "description": "Our id for this request (req_…): quote it to support; it is in every log line.",
        "schema": {"type": "string", "example": "req_6f2fa21718df2eb3d006bf81"},
    },
    "X-Client-Request-Id": {
        "description": "The X-Request-Id the client sent (8 to 64 of A-Z a-z 0-9 . _ -), echoed.",
        "schema": {"type": "string"},
    },
    "X-RateLimit-Limit": {
        "description": "Requests allowed per window for the tenant's plan.",
        "schema": {"type": "integer", "example": 600},
    },
    "X-RateLimit-Remaining": {
        "description": "Requests left in the current window.",
        "schema": {"type": "integer", "example": 599},
    },
    "X-RateLimit-Reset": {
        "description": "Unix seconds at which the current window ends.",
        "schema": {"type": "integer", "example": 1795872060},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "example": 12},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request "
        "with the same Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}
_ALWAYS = ("X-Request-Id", "X-Client-Request-Id")
_RATE = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Make the POST safe to retry: the first response for a key is stored for 24 hours "
        "and replayed (with `Idempotent-Replayed: true`) for a retry with the same body; "
        "the same key with a different body is a 409 `idempotency_key_reused`, and a retry "
        "while the first is still running a 409 `idempotency_key_in_use`. "
        f"1 to {MAX_KEY_LENGTH} printable characters, e.g. a UUID."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    "example": "5f0c7c1e-7a43-4d47-9d5a-1f0e3a8b2c64",
}

# status → (component name, description, extra headers)
ERRORS = {
    400: (
        "InvalidRequest",
        "Invalid request: a parameter or body field is missing, unknown or invalid "
        "(`param` names it), or the body is not valid JSON.",
        _RATE,
    ),
    401: ("Unauthenticated", "The API key is missing, unknown or revoked.", ()),
    403: (
        "Forbidden",
        "The key lacks the scope this operation needs, or the tenant is suspended.",
        _RATE,
    ),
    402: (
        "PaymentDeclined",
        "The card was declined (`type` card_error, `code` the decline code).",
        _RATE,
    ),
    404: ("NotFound", "No such object for this tenant (`param` names the id).", _RATE),
    409: (
        "Conflict",
        "The change conflicts with the object's state (the `code` says how), with a "
        "concurrent change (`concurrent_update`: retry), or with an Idempotency-Key's first use.",
        _RATE,
    ),
    502: (
        "ProviderError",
        "A provider (Stripe, the bank-data provider) failed; retry later.",
        _RATE,
    ),
    413: ("PayloadTooLarge", "The body is over this endpoint's size limit.", _RATE),
    415: ("UnsupportedMediaType", "The body is not `application/json`.", _RATE),
    429: (
        "RateLimited",
        "Too many requests for the tenant, the key, or (bad keys) the address.",
        (*_RATE, "Retry-After"),
    ),
    503: (
        "ServiceUnavailable",
        "The database is busy or unreachable; retry after `Retry-After` seconds.",
        (*_RATE, "Retry-After"),
    ),
}
_PATH_PARAMETER = re.compile(r"{[^}]+}")


def _header_refs(names) -> dict:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in (*_ALWAYS, *names)}


def _error_statuses(path: str, method: str, operation: dict) -> list[int]:
    """The failures this operation can answer with, beyond what it declares itself."""
    statuses = [400, 401, 403, 429, 503]
    if _PATH_PARAMETER.search(path):
        statuses.append(404)
    if method in WRITES:
        statuses += [409, 415]
    if "requestBody" in operation:
        statuses.append(413)
    return statuses


def _document_error(responses: dict, status: int) -> None:
    """The shared response for ``status``; a view's own text for it (alt_response) is kept."""
    name, _description, headers = ERRORS[status]
    own = responses.pop(status, None) or responses.pop(str(status), None)
    if isinstance(own, dict) and "description" in own and "$ref" not in own:
        own["headers"] = _header_refs(headers)
        own["content"] = {
            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}
        }
        responses[str(status)] = own
    else:
        responses[str(status)] = {"$ref": f"#/components/responses/{name}"}


class LifecycleDocs(BasePlugin):
    """Adds the lifecycle's headers, error responses and Idempotency-Key to every operation."""

    def init_spec(self, spec) -> None:
        """Register the shared headers, error responses and the Idempotency-Key parameter."""
        super().init_spec(spec)
        for name, header in HEADERS.items():
            spec.components.header(name, header)
        spec.components.parameter("IdempotencyKey", "header", IDEMPOTENCY_KEY)
        for name, description, headers in ERRORS.values():
            spec.components.response(
                name,
                {
                    "description": description,
                    "headers": _header_refs(headers),
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ErrorEnvelope"}
                        }
                    },
                },
            )

    def operation_helper(self, path=None, operations=None, **kwargs) -> None:
        """Complete each operation's responses, headers and parameters."""
        for method, operation in (operations or {}).items():
            if method not in ("get", *WRITES):
                continue
            responses = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                if str(status).startswith("2") and isinstance(response, dict):
                    success_headers = (*_RATE, "Idempotent-Replayed") if method == "post" else _RATE
                    response.setdefault("headers", {}).update(_header_refs(success_headers))
            declared = {int(s) for s in responses if str(s).isdigit() and int(s) in ERRORS}
            for status in sorted({*_error_statuses(path, method, operation), *declared}):
                _document_error(responses, status)
            if method == "post":
                # apispec takes a component's name here and writes the $ref itself.
                operation.setdefault("parameters", []).append("IdempotencyKey")
