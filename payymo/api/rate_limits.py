"""Request rate limits: bad keys per client address, then the tenant's plan and the key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, request

from payymo import ratelimit, runtime
from payymo.errors import AuthenticationError, RateLimited
from payymo.models import ApiKey, Tenant
from payymo.ratelimit import RateLimitState


@contextmanager
def bad_keys_limited() -> Iterator[None]:
    """429 before the key lookup once this address sent too many bad keys; count each one."""
    settings = runtime.settings()
    # Behind a proxy this is the proxy unless the WSGI server is told to trust its header.
    bucket = f"addr:{request.remote_addr or 'unknown'}"
    limit, window = settings.bad_key_rate_limit, settings.rate_limit_window_seconds
    state = ratelimit.peek(bucket, limit=limit, window_seconds=window)
    _note_fallback(state)
    if not state.allowed:
        raise RateLimited(
            "Too many requests with a missing or invalid API key from this address; retry later.",
            code="bad_key_rate_limited",
            headers={"Retry-After": str(state.retry_after)},
        )
    try:
        yield
    except AuthenticationError:
        _note_fallback(ratelimit.hit([(bucket, limit)], window_seconds=window))
        raise


def count_request(key: ApiKey, tenant: Tenant) -> None:
    """Count the request for the tenant (the plan's budget, shared by its keys) and the key."""
    settings = runtime.settings()
    plan = settings.plan_rate_limits.get(tenant.plan, settings.plan_rate_limits["standard"])
    state = ratelimit.hit(
        [(f"tenant:{tenant.id}", plan), (f"key:{key.id}", plan)],
        window_seconds=settings.rate_limit_window_seconds,
    )
    _note_fallback(state)
    g.rate_limit = state
    if not state.allowed:
        whose = "tenant" if state.bucket.startswith("tenant:") else "API key"
        raise RateLimited(
            f"Too many requests for this {whose}; slow down.",
            headers={**state.headers(), "Retry-After": str(state.retry_after)},
        )


def count_partner_request(key) -> None:
    """Count a partner API call against the partner (the standard plan's budget)."""
    settings = runtime.settings()
    plan = settings.plan_rate_limits["standard"]
    state = ratelimit.hit(
        [(f"partner:{key.partner_id}", plan)], window_seconds=settings.rate_limit_window_seconds
    )
    _note_fallback(state)
    g.rate_limit = state
    if not state.allowed:
        raise RateLimited(
            "Too many requests for this partner; slow down.",
            headers={**state.headers(), "Retry-After": str(state.retry_after)},
        )


def _note_fallback(state: RateLimitState) -> None:
    # Counted once per request, however many buckets fell back.
    if state.fallback and not g.get("rate_limit_fallback"):
        g.rate_limit_fallback = True
        metrics = g.get("metrics")
        if metrics is not None:
            metrics.ratelimit_fallback.inc()
