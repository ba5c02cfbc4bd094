"""Load one of the tenant's rows by public id: 404 otherwise, logged when it is another's."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from payymo.errors import NotFound
from payymo.tenancy.context import _tenant, system_scope

security_log = logging.getLogger("payymo.security")

_SPACED = re.compile(r"(?<=[a-z])(?=[A-Z])")
_PUBLIC_ID = re.compile(r"[a-z]{2,5}_[0-9A-Z]{26}")


def _missing(model: type, object_id, param: str | None) -> NotFound:
    return NotFound(
        f"No such {_SPACED.sub(' ', model.__name__).lower()}: '{str(object_id)[:64]}'",
        param=param,
        code="resource_missing",
    )


def _load(session: Session, model: type, object_id, param: str | None, *, for_update: bool):
    if not isinstance(object_id, str) or not _PUBLIC_ID.fullmatch(object_id):
        # Cannot be an id of ours; also keeps NUL bytes away from the driver.
        raise _missing(model, object_id, param)
    stmt = select(model).where(model.id == object_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    obj = session.scalars(stmt).one_or_none()
    if obj is not None:
        return obj
    with system_scope():
        owner = session.scalars(select(model.tenant_id).where(model.id == object_id)).one_or_none()
    if owner is not None:
        security_log.warning(
            "cross-tenant access refused",
            extra={
                "event": "security.cross_tenant_access",
                "tenant_id": _tenant.get(),
                "resource": model.__tablename__,
                "resource_id": object_id,
            },
        )
    raise _missing(model, object_id, param)


def get_or_404(session: Session, model: type, object_id: str, *, param: str | None = None):
    """Load ``model`` by public id in the current tenant, or raise ``NotFound``.

    A miss that exists under another tenant is logged as a security event; the caller
    still only sees 404 (no existence oracle).
    """
    return _load(session, model, object_id, param, for_update=False)


def get_for_update_or_404(
    session: Session, model: type, object_id: str, *, param: str | None = None
):
    """``get_or_404`` that re-reads the row under a row lock (``FOR UPDATE``).

    Every change to amounts, currency or status loads its row this way, then checks
    its rules against what the lock returned, never against an earlier read.
    """
    return _load(session, model, object_id, param, for_update=True)
