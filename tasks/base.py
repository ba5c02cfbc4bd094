"""The wrapper every RQ entry point wears: runtime, tenant scope, session, commit.

A job receives ids, never ORM objects. The wrapper configures the runtime from the
environment once per process, enters the tenant's scope (or the explicit system scope),
calls the function with ``db.session``, commits, and always removes the session. On error
it rolls back and re-raises, so RQ records the failure (and in-process mode logs it).
A suspended tenant's job does nothing: it returns ``SKIPPED_SUSPENDED`` and, for a job
that records itself on a Job row, closes that row so it is neither run nor retried.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session

from payymo import collector, db, runtime
from payymo.errors import NotFound
from payymo.ids import is_valid
from payymo.models import Tenant
from payymo.services import jobs as job_service
from payymo.tenancy import system_scope, tenant_scope

log = logging.getLogger(__name__)

SKIPPED_SUSPENDED = {"skipped": "tenant_suspended"}


def _skip_suspended(session: Session, func: Callable, tenant_id: str, job_id) -> dict:
    log.warning(
        "job skipped: tenant suspended",
        extra={"job": func.__qualname__, "tenant_id": tenant_id, "job_id": job_id},
    )
    if job_id is not None:
        job_service.skip_job(session=session, job_id=job_id, reason=job_service.SUSPENDED)
    session.commit()
    return dict(SKIPPED_SUSPENDED)


def _run(
    func: Callable,
    scope: AbstractContextManager,
    args: tuple,
    kwargs: dict,
    tenant_id=None,
    records_job: bool = False,
) -> Any:
    runtime.settings()  # configures from the environment on first use in this process
    session = db.session
    try:
        with scope:
            if tenant_id is not None:
                tenant = session.get(Tenant, tenant_id)
                if tenant is None:
                    raise NotFound(f"No such tenant: '{tenant_id}'", param="tenant_id")
                if tenant.status != "active":
                    job_id = (args[0] if args else kwargs.get("job_id")) if records_job else None
                    return _skip_suspended(session, func, tenant_id, job_id)
            result = func(session, *args, **kwargs)
            # Inside the scope: the flush guard checks every write against this tenant.
            session.commit()
        return result
    except BaseException:
        session.rollback()
        raise
    finally:
        db.session.remove()


def tenant_job(func: Callable | None = None, *, records_job: bool = False) -> Callable:
    """Make ``func(session, *args)`` an RQ entry point called as ``job(tenant_id, *args)``.

    With ``records_job=True`` the first argument after the tenant id is the id of the
    job's Job row (or None).
    """

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(tenant_id: str, *args, **kwargs):
            if not isinstance(tenant_id, str) or not is_valid(tenant_id, "ten"):
                raise ValueError(f"{func.__qualname__}: first argument must be a tenant id")
            scope = tenant_scope(tenant_id)
            return _run(func, scope, args, kwargs, tenant_id=tenant_id, records_job=records_job)

        return wrapper

    return decorate(func) if func is not None else decorate


def system_job(func: Callable) -> Callable:
    """Make ``func(session, *args)`` an RQ entry point that walks all tenants."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        return _run(func, system_scope(), args, kwargs)

    return wrapper


def run_recorded(session: Session, job_id: str | None, work: Callable[[], dict]) -> dict:
    """Claim the job row, run ``work``, record its result or failure; commits each step.

    A second delivery of a job that already succeeded does nothing (``{"skipped": True}``).
    """
    if job_id is not None:
        if not job_service.start_job(session=session, job_id=job_id):
            return {"skipped": True}
        session.commit()
    try:
        result = work()
    except Exception as exc:
        session.rollback()
        if job_id is not None:
            job_service.fail_job(session=session, job_id=job_id, exc=exc)
            session.commit()
        raise
    if job_id is not None:
        job_service.finish_job(session=session, job_id=job_id, result=result)
    session.commit()
    return result


cyclic_gc_paused = collector.paused  # held off for a bulk job (``payymo.collector``)
