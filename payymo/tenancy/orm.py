"""The ORM wall: criteria on every statement, guarded ``get()``, checked flushes."""

from __future__ import annotations

from sqlalchemy import event, inspect
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.orm.attributes import get_history

from payymo.tenancy.context import (
    CrossTenantWrite,
    NoTenantContext,
    _system,
    _tenant,
)
from payymo.tenancy.mixin import TenantScoped
from payymo.tenancy.tables import touches_scoped_table


def _touches_scoped_model(state: ORMExecuteState) -> bool:
    if any(issubclass(m.class_, TenantScoped) for m in state.all_mappers):
        return True
    # Entities named only in select_from()/joins (e.g. counts) are not in all_mappers.
    return touches_scoped_table(state.statement)


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


class TenantSession(Session):
    """A Session whose ``get()`` obeys tenant scope even when the identity map answers.

    ``Session.get`` returns an object already in the session without running SQL, so
    the statement hook never sees it: a row loaded under system scope (or another
    tenant) would be handed back as is. Here a scoped model needs a tenant in scope
    and another tenant's object reads as missing.
    """

    def get(self, entity, ident, **kwargs):
        """``Session.get`` under the current tenant scope."""
        scoped = _is_scoped(entity)
        if scoped and not _system.get() and _tenant.get() is None:
            raise NoTenantContext("get() of a tenant-owned model with no tenant in scope")
        obj = super().get(entity, ident, **kwargs)
        if scoped and obj is not None and not _system.get() and obj.tenant_id != _tenant.get():
            return None
        return obj


def _is_scoped(entity) -> bool:
    mapper = inspect(entity, raiseerr=False)
    mapper = getattr(mapper, "mapper", mapper)
    return mapper is not None and issubclass(mapper.class_, TenantScoped)
