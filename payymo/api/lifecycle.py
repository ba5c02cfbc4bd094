"""What happens around every API request: ids, limits, auth, idempotency, commit, audit."""

from __future__ import annotations

import logging
import re
import secrets
import time

from flask import Flask, Response, current_app, g, request
from sqlalchemy.exc import DBAPIError, IntegrityError

from payymo import auth, db, idempotency, runtime, tenancy
from payymo.api import rate_limits
from payymo.api.database_errors import database_error
from payymo.api.errors import error_response, log_unexpected
from payymo.db import utcnow
from payymo.errors import (
    ApiError,
    Conflict,
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from payymo.models import AuditLog
from payymo.observability import Metrics, request_id_var

log = logging.getLogger("payymo.requests")

API_PREFIX = "/api/v1"
BODY_LIMIT = 256 * 1024
BATCH_BODY_LIMIT = 1024 * 1024
BATCH_SUFFIXES = ("/batch", "/import")
PUBLIC_PATHS = {f"{API_PREFIX}/openapi.json"}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
_REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:\-]{8,64}$")
_RULE_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIX + "/") and path not in PUBLIC_PATHS


def _body_limit(path: str) -> int:
    return BATCH_BODY_LIMIT if path.endswith(BATCH_SUFFIXES) else BODY_LIMIT


def begin_request() -> Response | None:
    """Request id, body limits, content type, then auth, rate limit and idempotency."""
    g.started = time.perf_counter()
    incoming = request.headers.get("X-Request-Id", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else f"req_{secrets.token_hex(12)}"
    g.rid_token = request_id_var.set(g.request_id)
    limit = _body_limit(request.path)
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(
            f"The request body is over {limit // 1024} KB for this endpoint.",
        )
    has_body = bool(request.content_length) or request.headers.get("Transfer-Encoding")
    if request.content_length is None and has_body:
        # A chunked body has no length to check up front, and werkzeug silently truncates
        # it at the limit: read one byte past it so an oversized body is refused instead.
        request.max_content_length = limit + 1
        if len(request.get_data(cache=True)) > limit:
            raise PayloadTooLarge(f"The request body is over {limit // 1024} KB for this endpoint.")
    if request.method in MUTATING and has_body and request.mimetype != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.", param="Content-Type")
    if not _is_api(request.path) or request.method == "OPTIONS":
        return None
    return _authenticate_and_claim()


def _authenticate_and_claim() -> Response | None:
    now = utcnow()
    with rate_limits.bad_keys_limited():
        key, tenant = auth.authenticate(db.session, auth.extract_key(request.headers), now=now)
    g.api_key, g.tenant = key, tenant
    g.tenant_tokens = tenancy.enter(tenant.id)
    settings = runtime.settings()
    rate_limits.count_request(key, tenant)
    auth.check_scope(key, auth.required_scope(request.blueprint, request.method))
    _reject_unknown_query_parameters()
    auth.touch_last_used(db.session, key, now=now)
    idem_key = request.headers.get("Idempotency-Key")
    if request.method == "POST" and idem_key is not None:
        fingerprint = idempotency.request_fingerprint(
            request.method, request.full_path.rstrip("?"), request.get_data()
        )
        replay = idempotency.claim(
            db.session,
            key=idem_key,
            method=request.method,
            path=request.path,
            fingerprint=fingerprint,
            ttl_seconds=settings.idempotency_ttl_seconds,
        )
        if replay is not None:
            g.replayed = True
            db.session.commit()
            response = Response(replay.body, status=replay.status, mimetype="application/json")
            response.headers["Idempotent-Replayed"] = "true"
            return response
        g.idempotency_key = idem_key
    return None


def _declared_query_parameters() -> dict[tuple[str, str], set[str]]:
    """(OpenAPI path, METHOD) → the query parameters the spec declares, built once per app."""
    table = current_app.extensions.get("payymo_query_parameters")
    if table is None:
        table = {}
        for path, item in current_app.extensions["payymo_api"].spec.to_dict()["paths"].items():
            shared = item.get("parameters", [])
            for method, operation in item.items():
                if method == "parameters":
                    continue
                params = shared + operation.get("parameters", [])
                table[(path, method.upper())] = {
                    p["name"] for p in params if p.get("in") == "query"
                }
        current_app.extensions["payymo_query_parameters"] = table
    return table


def _reject_unknown_query_parameters() -> None:
    # Routes without a query schema would otherwise ignore ?anything silently.
    if request.url_rule is None or not request.args:
        return
    path = _route_template()
    method = "GET" if request.method == "HEAD" else request.method
    allowed = _declared_query_parameters().get((path, method))
    if allowed is None:
        return  # not an API operation of the spec
    unknown = next((name for name in request.args if name not in allowed), None)
    if unknown is not None:
        raise InvalidRequest(
            f"Unknown query parameter '{unknown[:40]}'.",
            param=unknown[:40],
            code="parameter_unknown",
        )


def _route_template() -> str:
    """The matched route as in the OpenAPI spec: ``/api/v1/invoices/{invoice_id}``."""
    if request.url_rule is None:
        return request.path
    return _RULE_VARIABLE.sub(r"{\1}", request.url_rule.rule)


def _audit(response: Response) -> None:
    resource_type = resource_id = None
    if response.is_json:
        body = response.get_json(silent=True)
        if isinstance(body, dict):
            resource_type = body.get("object") if isinstance(body.get("object"), str) else None
            resource_id = body.get("id") if isinstance(body.get("id"), str) else None
    key = g.api_key
    db.session.add(
        AuditLog(
            actor=key.prefix,
            api_key_id=key.id,
            action=f"{request.method} {_route_template()}",
            resource_type=resource_type,
            resource_id=resource_id,
            status_code=response.status_code,
            request_id=g.request_id,
            ip=request.remote_addr,
        )
    )


def finish_request(response: Response) -> Response:
    """Commit on success (with audit row and idempotent response), roll back otherwise."""
    if getattr(g, "tenant_tokens", None) is None or getattr(g, "replayed", False):
        return response
    # A view may ask to keep what it recorded about a failure (e.g. a suggestion that
    # expired when it was accepted); errors raised as exceptions never commit.
    if response.status_code >= 400 and not g.get("commit_on_error"):
        db.session.rollback()
        return response
    try:
        if request.method in MUTATING:
            _audit(response)
        if getattr(g, "idempotency_key", None):
            idempotency.complete(
                db.session,
                key=g.idempotency_key,
                status=response.status_code,
                body=response.get_data(as_text=True),
            )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return error_response(Conflict("The request conflicts with another change; retry it."))
    except DBAPIError as exc:
        db.session.rollback()
        error = database_error(exc)
        if isinstance(error, ApiError):
            log_unexpected(exc)
        return error_response(error)
    except Exception as exc:
        db.session.rollback()
        log_unexpected(exc)
        return error_response(ApiError("An internal error occurred."))
    return response


def decorate_response(response: Response) -> Response:
    """Request id and rate-limit headers on every response; metrics."""
    rid = getattr(g, "request_id", None)
    if rid:
        response.headers["X-Request-Id"] = rid
    state = getattr(g, "rate_limit", None)
    if state is not None:
        for name, value in state.headers().items():
            response.headers.setdefault(name, value)
    metrics: Metrics | None = g.get("metrics")
    if metrics is not None and hasattr(g, "started"):
        route = request.url_rule.rule if request.url_rule else "<unmatched>"
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(time.perf_counter() - g.started)
    return response


def end_request(_exc) -> None:
    """Release the session and the tenant scope."""
    db.session.remove()
    tokens = g.pop("tenant_tokens", None)
    if tokens is not None:
        tenancy.leave(tokens)
    token = g.pop("rid_token", None)
    if token is not None:
        request_id_var.reset(token)


def install(app: Flask, metrics: Metrics) -> None:
    """Register the hooks on ``app`` in the order they must run."""

    @app.before_request
    def _begin():
        g.metrics = metrics
        return begin_request()

    # after_request runs in reverse registration order: commit first, then headers.
    app.after_request(decorate_response)
    app.after_request(finish_request)
    app.teardown_request(end_request)
