"""The order of what happens around every API request, each step in a module of its own.

Before the view: request ids (``request_ids``), body checks (``body_checks``), then for
``/api/v1``: the key (``auth``, bad keys limited per address), the tenant's scope, rate
limits (``rate_limits``), the key's scope, undeclared query parameters
(``query_parameters``) and the Idempotency-Key claim (``idempotency``). After it: commit
with the audit row and the stored idempotent response, or roll back and audit the
failure (``audit``); then ``last_used_at`` in a transaction of its own; then headers and
metrics. At teardown the session and the tenant scope are always released.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from sqlalchemy.exc import DBAPIError, IntegrityError

from payymo import auth, db, idempotency, runtime, tenancy
from payymo.api import audit, body_checks, partners, query_parameters, rate_limits, request_ids
from payymo.api.database_errors import database_error
from payymo.api.errors import error_response, log_unexpected
from payymo.db import utcnow
from payymo.errors import ApiError, AuthorizationError, Conflict
from payymo.observability import Metrics

API_PREFIX = "/api/v1"
# The bank consent's redirect arrives from the end user's browser, without a key; it is
# authorised by the unguessable reference it carries.
PUBLIC_PATHS = {f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/bank_connections/callback"}


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIX + "/") and path not in PUBLIC_PATHS


def begin_request() -> Response | None:
    """Request id, body checks, then auth, rate limit and idempotency."""
    g.started = time.perf_counter()
    request_ids.assign()
    body_checks.check()
    if not _is_api(request.path) or request.method == "OPTIONS":
        return None
    return _authenticate_and_claim()


def _authenticate_and_claim() -> Response | None:
    now = utcnow()
    g.now = now
    try:
        with rate_limits.bad_keys_limited():
            caller = auth.authenticate(db.session, auth.extract_key(request.headers), now=now)
    except auth.KeyRefused as refused:
        g.refused = refused
        raise
    if isinstance(caller, auth.PartnerCaller):
        g.partner_key, g.partner = caller.key, caller.partner
        if request.blueprint in auth.PARTNER_BLUEPRINTS:
            partners.partner_request(caller)
            return _claim_idempotency(partner_id=caller.partner.id)
        key, tenant = partners.acting_for_tenant(caller)
    else:
        key, tenant = caller
        partners.refuse_tenant_header()
        if request.blueprint in auth.PARTNER_BLUEPRINTS:
            raise AuthorizationError(
                "Only a partner's API key may call the partner API.", code="partner_key_required"
            )
    g.api_key, g.tenant = key, tenant
    g.tenant_tokens = tenancy.enter(tenant.id)
    rate_limits.count_request(key, tenant)
    auth.check_scope(key, auth.required_scope(request.blueprint, request.method))
    query_parameters.reject_unknown()
    return _claim_idempotency(partner_id=None)


def _claim_idempotency(*, partner_id: str | None) -> Response | None:
    """Claim a POST's Idempotency-Key (the tenant's, or the partner's), or replay it."""
    idem_key = request.headers.get("Idempotency-Key")
    if request.method != "POST" or idem_key is None:
        return None
    fingerprint = idempotency.request_fingerprint(
        request.method, request.full_path.rstrip("?"), request.get_data()
    )
    replay = idempotency.claim(
        db.session,
        key=idem_key,
        method=request.method,
        path=request.path,
        fingerprint=fingerprint,
        ttl_seconds=runtime.settings().idempotency_ttl_seconds,
        partner_id=partner_id,
    )
    if replay is not None:
        g.replayed = True
        db.session.commit()
        response = Response(replay.body, status=replay.status, mimetype="application/json")
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency_key = idem_key
    return None


def finish_request(response: Response) -> Response:
    """Commit on success (audit row, idempotent response), roll back and audit otherwise."""
    refused = g.get("refused")
    if refused is not None and audit.wanted(response):
        db.session.rollback()
        audit.record_refused(response, refused)
    if g.get("tenant_tokens") is None and not g.get("partner_request"):
        return response
    if not g.get("replayed"):
        response = _commit_or_roll_back(response)
    # Acting for a tenant, a partner's key is the one that was used.
    auth.touch_last_used(db.session, g.get("partner_key") or g.api_key, now=g.now)
    return response


def _commit_or_roll_back(response: Response) -> Response:
    # A view may ask to keep what it recorded about a failure (e.g. a suggestion that
    # expired when it was accepted); errors raised as exceptions never commit.
    if response.status_code >= 400 and not g.get("commit_on_error"):
        db.session.rollback()
        if audit.wanted(response):
            audit.record_failure(response)
        return response
    try:
        if audit.wanted(response):
            audit.record_success(response)
        if g.get("idempotency_key"):
            idempotency.complete(
                db.session,
                key=g.idempotency_key,
                status=response.status_code,
                body=response.get_data(as_text=True),
                partner_id=g.partner.id if g.get("partner_request") else None,
            )
        db.session.commit()
        return response
    except IntegrityError:
        error = Conflict("The request conflicts with another change; retry it.")
    except DBAPIError as exc:
        error = database_error(exc)
        if isinstance(error, ApiError):
            log_unexpected(exc)
    except Exception as exc:
        error = ApiError("An internal error occurred.")
        log_unexpected(exc)
    db.session.rollback()
    failed = error_response(error)
    if audit.wanted(failed):
        audit.record_failure(failed)
    return failed


def decorate_response(response: Response) -> Response:
    """Request id and rate-limit headers on every response; metrics."""
    request_ids.add_headers(response)
    state = g.get("rate_limit")
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
    """Release the session, then always the tenant scope and the request ids."""
    try:
        db.session.remove()
    finally:
        try:
            tokens = g.pop("tenant_tokens", None)
            if tokens is not None:
                tenancy.leave(tokens)
        finally:
            request_ids.release()


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
