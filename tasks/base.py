"""The wrapper every RQ entry point wears: runtime, tenant scope, session, commit.

A job receives ids, never ORM objects. The wrapper configures the runtime from the
environment once per process, enters the tenant's scope (or the explicit system scope),
calls the function with ``db.session``, commits, and always removes the session. On error
it rolls back and re-raises, so RQ records the failure (and in-process mode logs it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from payymo import db, runtime
from payymo.errors import NotFound
from payymo.ids import is_valid
from payymo.models import Tenant
from payymo.tenancy import system_scope, tenant_scope


def _run(
    func: Callable, scope: AbstractContextManager, args: tuple, kwargs: dict, tenant_id=None
) -> Any:
    runtime.settings()  # configures from the environment on first use in this process
    session = db.session
    try:
        with scope:
            if tenant_id is not None and session.get(Tenant, tenant_id) is None:
                raise NotFound(f"No such tenant: '{tenant_id}'", param="tenant_id")
            result = func(session, *args, **kwargs)
            # Inside the scope: the flush guard checks every write against this tenant.
            session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        db.session.remove()


def tenant_job(func: Callable) -> Callable:
    """Make ``func(session, *args)`` an RQ entry point called as ``job(tenant_id, *args)``."""

    @functools.wraps(func)
    def wrapper(tenant_id: str, *args, **kwargs):
        if not isinstance(tenant_id, str) or not is_valid(tenant_id, "ten"):
            raise ValueError(f"{func.__qualname__}: first argument must be a tenant id")
        return _run(func, tenant_scope(tenant_id), args, kwargs, tenant_id=tenant_id)

    return wrapper


def system_job(func: Callable) -> Callable:
    """Make ``func(session, *args)`` an RQ entry point that walks all tenants."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _run(func, system_scope(), args, kwargs)

    return wrapper
