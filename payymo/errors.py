"""Domain errors and the one error envelope every failure is answered in."""

from __future__ import annotations


class PayymoError(Exception):
    """Base for errors that map to an HTTP status and the error envelope."""

    status = 400
    type = "invalid_request_error"
    code = "invalid_request"

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
        errors: list[dict] | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.param = param
        self.headers = headers or {}
        self.errors = errors
        if code:
            self.code = code

    def body(self, request_id: str | None) -> dict:
        """The JSON envelope for this error."""
        error = {
            "type": self.type,
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "request_id": request_id,
        }
        if self.errors:
            error["errors"] = self.errors
        return {"error": error}


class InvalidRequest(PayymoError):
    """The request is malformed or fails validation (400)."""


class AuthenticationError(PayymoError):
    """No key, or an unknown, expired or revoked key (401)."""

    status, type, code = 401, "authentication_error", "invalid_api_key"


class AuthorizationError(PayymoError):
    """The key may not do this (403)."""

    status, type, code = 403, "authorization_error", "forbidden"


class NotFound(PayymoError):
    """No such resource in this tenant (404)."""

    status, type, code = 404, "not_found", "resource_missing"


class MethodNotAllowed(PayymoError):
    """The route exists but not for this method (405)."""

    status, code = 405, "method_not_allowed"


class Conflict(PayymoError):
    """The request conflicts with the resource's current state (409)."""

    status, type, code = 409, "conflict", "conflict"


class IdempotencyError(PayymoError):
    """An Idempotency-Key was reused with another request, or is in flight (409)."""

    status, type, code = 409, "idempotency_error", "idempotency_key_reused"


class PayloadTooLarge(PayymoError):
    """The body is over the limit for this endpoint (413)."""

    status, code = 413, "body_too_large"


class UnsupportedMediaType(PayymoError):
    """The body is not JSON (415)."""

    status, code = 415, "unsupported_media_type"


class RateLimited(PayymoError):
    """Too many requests for this key (429)."""

    status, type, code = 429, "rate_limit_error", "rate_limited"


class ProviderError(PayymoError):
    """An upstream provider failed (502)."""

    status, type, code = 502, "provider_error", "provider_unavailable"


class PaymentDeclined(PayymoError):
    """The card was declined; the message gives the card issuer's reason (402)."""

    status, type, code = 402, "card_error", "card_declined"


class ApiError(PayymoError):
    """Something went wrong on our side (500)."""

    status, type, code = 500, "api_error", "internal_error"


class ServiceUnavailable(PayymoError):
    """A dependency is down or busy; retry after ``Retry-After`` (503)."""

    status, type, code = 503, "api_error", "service_unavailable"
