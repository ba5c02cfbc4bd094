"""Map every failure — ours, HTTP, validation, unexpected — to the error envelope."""

from __future__ import annotations

import logging
import traceback

from flask import Flask, jsonify
from sqlalchemy.exc import DBAPIError, IntegrityError
from werkzeug.exceptions import HTTPException

from payymo import db
from payymo.api.database_errors import database_error
from payymo.errors import (
    ApiError,
    Conflict,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    PayymoError,
    UnsupportedMediaType,
)
from payymo.observability import request_id_var

log = logging.getLogger("payymo.errors")


def error_response(error: PayymoError):
    """A Flask response carrying ``error`` in the envelope."""
    response = jsonify(error.body(request_id_var.get()))
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def _flatten(messages, path: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                sub = f"{path}[{key}]"
            elif key == "_schema":
                sub = path
            else:
                sub = f"{path}.{key}" if path else str(key)
            out.extend(_flatten(value, sub))
        return out
    if isinstance(messages, list) and messages and all(isinstance(m, str) for m in messages):
        return [(path, "; ".join(messages))]
    if isinstance(messages, list):
        out = []
        for item in messages:
            out.extend(_flatten(item, path))
        return out
    return [(path, str(messages))]


def validation_error(messages: dict) -> InvalidRequest:
    """Turn webargs/marshmallow messages into one InvalidRequest naming the param."""
    pairs = []
    for location, fields in messages.items():
        for param, text in _flatten(fields):
            if location == "json" and text == "Invalid JSON body.":
                return InvalidRequest(
                    "The request body is not valid JSON.", param=None, code="invalid_json"
                )
            pairs.append((param or None, text))
    if not pairs:
        return InvalidRequest("Invalid request.")
    param, text = pairs[0]
    message = f"Invalid {param}: {text}" if param else text
    details = [{"param": p, "message": t} for p, t in pairs] if len(pairs) > 1 else None
    code = "parameter_unknown" if "Unknown field" in text else "parameter_invalid"
    if "Missing data for required field" in text:
        code = "parameter_missing"
    return InvalidRequest(message, param=param, code=code, errors=details)


def http_error(exc: HTTPException) -> PayymoError:
    """Translate a werkzeug/flask-smorest HTTP exception."""
    data = getattr(exc, "data", None) or {}
    if exc.code in (400, 422) and "messages" in data:
        return validation_error(data["messages"])
    mapping = {
        404: lambda: NotFound("Unrecognized request URL.", code="route_not_found"),
        405: lambda: MethodNotAllowed("This method is not allowed on this URL."),
        413: lambda: PayloadTooLarge("The request body is too large for this endpoint."),
        415: lambda: UnsupportedMediaType("Send the body as application/json."),
    }
    if exc.code in mapping:
        return mapping[exc.code]()
    if exc.code and exc.code < 500:
        return InvalidRequest(exc.description or "Bad request.", code="bad_request")
    return ApiError("An internal error occurred.")


def register(app: Flask) -> None:
    """Install the handlers on ``app``."""

    @app.errorhandler(PayymoError)
    def _payymo(exc: PayymoError):
        db.session.rollback()
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        db.session.rollback()
        response = error_response(http_error(exc))
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(IntegrityError)
    def _integrity(exc: IntegrityError):
        db.session.rollback()
        log.warning("integrity conflict", extra={"error": type(exc.orig).__name__})
        return error_response(
            Conflict("The request conflicts with another change; retry it.", code="conflict")
        )

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError):
        db.session.rollback()
        error = database_error(exc)
        if isinstance(error, ApiError):
            log_unexpected(exc)
        else:
            log.warning(
                "database call failed",
                extra={"error": type(exc.orig).__name__, "code": error.code},
            )
        return error_response(error)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        log_unexpected(exc)
        return error_response(ApiError("An internal error occurred."))


def log_unexpected(exc: BaseException) -> None:
    """Log an unexpected failure with its traceback (frames and types, no messages).

    Exception messages can carry SQL, parameters or secrets, so only the exception types
    and the stack frames are written; the record carries the request id like every log
    line, so an operator finds it from the id the client was given.
    """
    chain, seen = [], set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        frames = "".join(traceback.format_tb(current.__traceback__))
        chain.append(f"{type(current).__module__}.{type(current).__qualname__}\n{frames}")
        current = current.__cause__ or current.__context__
    log.error(
        "unhandled error",
        extra={"error": type(exc).__name__, "traceback": "\n".join(chain)},
    )
