"""The one place tenant isolation is enforced.

A ContextVar holds the current tenant (``context``). Every ORM statement touching a
``TenantScoped`` model gets ``tenant_id == current`` added (aliases, relationships and
lazy loads included), ``get()`` obeys the scope even from the identity map, flushes
stamp new objects and refuse objects of another tenant (``orm``); Core statements on
tenant tables with no tenant raise, and on PostgreSQL row-level security keyed by a
per-transaction setting is the second wall under all of it (``database``). A query
with no tenant raises unless the caller explicitly entered ``system_scope()``.
"""

from payymo.tenancy import database as _database  # noqa: F401 (installs the engine hooks)
from payymo.tenancy.context import (
    CrossTenantWrite,
    NoTenantContext,
    current_tenant_id,
    current_tenant_id_or_none,
    enter,
    leave,
    system_scope,
    tenant_scope,
)
from payymo.tenancy.lookup import get_for_update_or_404, get_or_404, security_log
from payymo.tenancy.mixin import TenantScoped
from payymo.tenancy.orm import TenantSession

__all__ = [
    "CrossTenantWrite",
    "NoTenantContext",
    "TenantScoped",
    "TenantSession",
    "current_tenant_id",
    "current_tenant_id_or_none",
    "enter",
    "get_for_update_or_404",
    "get_or_404",
    "leave",
    "security_log",
    "system_scope",
    "tenant_scope",
]
