"""Which tables are tenant-owned, and whether a statement touches one."""

from __future__ import annotations

from functools import cache

from sqlalchemy.sql.util import find_tables

from payymo.tenancy.mixin import TenantScoped


@cache
def scoped_table_names() -> frozenset[str]:
    """Names of every tenant-owned table (models imported first)."""
    import payymo.models  # noqa: F401 (registers every table)
    from payymo.db import Base

    return frozenset(
        m.local_table.name for m in Base.registry.mappers if issubclass(m.class_, TenantScoped)
    )


def touches_scoped_table(stmt) -> bool:
    """True when a Core/ORM statement reads or writes a tenant-owned table."""
    names = scoped_table_names()
    table = getattr(stmt, "table", None)  # INSERT/UPDATE/DELETE target
    if table is not None and getattr(table, "name", None) in names:
        return True
    froms = stmt.get_final_froms() if hasattr(stmt, "get_final_froms") else []
    for from_ in froms:
        for found in find_tables(from_, include_joins=True, include_aliases=True):
            if getattr(getattr(found, "element", found), "name", None) in names:
                return True
    return False
