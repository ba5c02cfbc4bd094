"""The one place tenant isolation is enforced.

A ContextVar holds the current tenant. Every ORM statement touching a ``TenantScoped``
model gets ``tenant_id == current`` added (aliases, relationships and lazy loads
included); flushes stamp new objects and refuse objects of another tenant; a query
with no tenant raises unless the caller explicitly entered ``system_scope()``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import ForeignKey, String, event, select
from sqlalchemy.orm import (
    Mapped,
    Mapper,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.orm.attributes import get_history
from sqlalchemy.sql.util import find_tables

from payymo.errors import NotFound

security_log = logging.getLogger("payymo.security")

_SPACED = re.compile(r"(?<=[a-z])(?=[A-Z])")
_PUBLIC_ID = re.compile(r"[a-z]{2,5}_[0-9A-Z]{26}")
_tenant: ContextVar[str | None] = ContextVar("payymo_tenant", default=None)
_system: ContextVar[bool] = ContextVar("payymo_system_scope", default=False)


class NoTenantContext(RuntimeError):
    """A tenant-owned model was queried or written with no tenant in scope."""


class CrossTenantWrite(RuntimeError):
    """A flush tried to write an object that belongs to another tenant."""


class TenantScoped:
    """Mixin for every tenant-owned model: adds an indexed ``tenant_id``."""

    @declared_attr
    def tenant_id(cls) -> Mapped[str]:
        # Indexed by each model as (tenant_id, id): lists filter by tenant, order by id.
        return mapped_column(
            String(40), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False
        )


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
    token = _tenant.set(tenant_id)
    system_token = _system.set(False)
    try:
        yield
    finally:
        _system.reset(system_token)
        _tenant.reset(token)


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
    return _tenant.set(tenant_id), _system.set(False)


def leave(tokens) -> None:
    """Undo ``enter``."""
    tenant_token, system_token = tokens
    _system.reset(system_token)
    _tenant.reset(tenant_token)


def _scoped_tables() -> set:
    from payymo.db import Base

    return {m.local_table for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)}


def _touches_scoped_model(state: ORMExecuteState) -> bool:
    if any(issubclass(m.class_, TenantScoped) for m in state.all_mappers):
        return True
    # Entities named only in select_from()/joins (e.g. counts) are not in all_mappers.
    stmt = state.statement
    froms = stmt.get_final_froms() if hasattr(stmt, "get_final_froms") else [stmt.table]
    scoped = _scoped_tables()
    for from_ in froms:
        for table in find_tables(from_, include_joins=True, include_aliases=True):
            if getattr(table, "element", table) in scoped or table in scoped:
                return True
    return False


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    if _system.get():
        return
    tenant_id = _tenant.get()
    if tenant_id is None:
        if _touches_scoped_model(state):
            raise NoTenantContext("query on a tenant-owned model with no tenant in scope")
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantScoped,
            lambda cls: cls.tenant_id == tenant_id,
            include_aliases=True,
        )
    )


_unchecked_mappers: list[Mapper] = []


@event.listens_for(Mapper, "mapper_configured")
def _remember_mapper(mapper: Mapper, _class) -> None:
    _unchecked_mappers.append(mapper)


@event.listens_for(Mapper, "after_configured")
def _lazy_loads_always_query() -> None:
    # A many-to-one lazy load answers from the identity map without SQL when it can,
    # skipping the tenant criteria: another tenant's object already in the session
    # (system scope, a job walking tenants) would be handed back. Make it always query.
    while _unchecked_mappers:
        for rel in _unchecked_mappers.pop().relationships:
            if issubclass(rel.mapper.class_, TenantScoped) and getattr(
                rel.strategy, "use_get", False
            ):
                rel.strategy.use_get = False


@event.listens_for(Session, "before_flush")
def _guard_flush(session: Session, _ctx, _instances) -> None:
    system = _system.get()
    tenant_id = _tenant.get()
    for obj in session.new:
        if not isinstance(obj, TenantScoped):
            continue
        if obj.tenant_id is None:
            if tenant_id is None:
                raise NoTenantContext(f"new {type(obj).__name__} with no tenant in scope")
            obj.tenant_id = tenant_id
        elif not system and obj.tenant_id != tenant_id:
            raise CrossTenantWrite(f"refusing to write a {type(obj).__name__} of another tenant")
    if system:
        return
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, TenantScoped) and _owners(obj) != {tenant_id}:
            raise CrossTenantWrite(f"refusing to write a {type(obj).__name__} of another tenant")


def _owners(obj: TenantScoped) -> set[str | None]:
    # The tenant before this flush counts too: re-stamping another tenant's row with the
    # current tenant would otherwise pass as a write to one of our own rows.
    # get_history reads the one attribute; inspect(obj).attrs would build every one.
    return {obj.tenant_id, *get_history(obj, "tenant_id").deleted}


def get_or_404(session: Session, model: type, object_id: str, *, param: str | None = None):
    """Load ``model`` by public id in the current tenant, or raise ``NotFound``.

    A miss that exists under another tenant is logged as a security event; the caller
    still only sees 404 (no existence oracle).
    """
    missing = NotFound(
        f"No such {_SPACED.sub(' ', model.__name__).lower()}: '{str(object_id)[:64]}'",
        param=param,
        code="resource_missing",
    )
    if not isinstance(object_id, str) or not _PUBLIC_ID.fullmatch(object_id):
        raise missing  # cannot be an id of ours; also keeps NUL bytes away from the driver
    obj = session.scalars(select(model).where(model.id == object_id)).one_or_none()
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
    raise missing
