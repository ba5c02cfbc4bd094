"""Which tenant this code runs as: a ContextVar, and the scopes that set it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_tenant: ContextVar[str | None] = ContextVar("payymo_tenant", default=None)
_system: ContextVar[bool] = ContextVar("payymo_system_scope", default=False)


class NoTenantContext(RuntimeError):
    """A tenant-owned model was queried or written with no tenant in scope."""


class CrossTenantWrite(RuntimeError):
    """A flush tried to write an object that belongs to another tenant."""


def current_tenant_id() -> str:
    """The tenant in scope; raises ``NoTenantContext`` when there is none."""
    tenant_id = _tenant.get()
    if tenant_id is None:
        raise NoTenantContext("no tenant in scope")
    return tenant_id


def current_tenant_id_or_none() -> str | None:
    """The tenant in scope, or None."""
    return _tenant.get()


@contextmanager
def tenant_scope(tenant_id: str) -> Iterator[None]:
    """Run the block as ``tenant_id``: every scoped query sees only its rows."""
    tokens = enter(tenant_id)
    try:
        yield
    finally:
        leave(tokens)


@contextmanager
def system_scope() -> Iterator[None]:
    """Run the block across all tenants (auth lookup, sweepers). Use sparingly."""
    token = _tenant.set(None)
    system_token = _system.set(True)
    try:
        yield
    finally:
        _system.reset(system_token)
        _tenant.reset(token)


def enter(tenant_id: str):
    """Set the tenant for the rest of this context (a request); returns a reset token."""
    if not isinstance(tenant_id, str) or not tenant_id:
        raise ValueError("a tenant scope needs a tenant id")
    return _tenant.set(tenant_id), _system.set(False)


def leave(tokens) -> None:
    """Undo ``enter``; both variables are reset even if one reset fails."""
    tenant_token, system_token = tokens
    try:
        _system.reset(system_token)
    finally:
        _tenant.reset(tenant_token)
