"""The PostgreSQL row-level security policy every tenant-owned table carries.

Migrations call these with the tables they create; ``tests/test_migrations.py`` checks
that every ``TenantScoped`` table has the policy, enabled and forced.
"""

from __future__ import annotations

POLICY = "tenant_isolation"
# payymo.system is set only inside system_scope(); payymo.tenant_id inside a tenant's.
CONDITION = (
    "current_setting('payymo.system', true) = 'on' "
    "OR tenant_id = current_setting('payymo.tenant_id', true)"
)


def enable(table: str) -> list[str]:
    """SQL that puts ``table`` behind the tenant policy (its owner included)."""
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY {POLICY} ON "{table}" USING ({CONDITION}) WITH CHECK ({CONDITION})',
    ]


def disable(table: str) -> list[str]:
    """SQL that takes ``table`` out from behind the tenant policy."""
    return [
        f'DROP POLICY IF EXISTS {POLICY} ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]
