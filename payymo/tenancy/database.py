"""The database wall: PostgreSQL row-level security follows the tenant scope.

Every tenant-owned table carries a policy (``tenancy.policies``) that admits a row only
when its ``tenant_id`` equals the transaction's ``payymo.tenant_id`` setting. The system
scope switches to ``payymo_system``, a role that bypasses the policy, where the app's
role may (migration 0030); elsewhere it sets ``payymo.system`` to ``on``, which the
older form of the policy admits. Before each statement the transaction's settings (and
role) are made to match the scope in this context (one ``set_config`` round trip when
the scope changes, usually once per transaction); ``SET LOCAL`` semantics end them with
the transaction, and a rolled-back savepoint reverts them, so the cache is dropped then.
A raw, Core or COPY path that forgets the tenant therefore sees and writes nothing.

Core statements on tenant-owned tables with no tenant in scope raise here, as ORM
statements do in ``orm.py``.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.sql.expression import SelectBase, UpdateBase

from payymo.tenancy.context import NoTenantContext, _system, _tenant
from payymo.tenancy.policies import SYSTEM_ROLE
from payymo.tenancy.tables import touches_scoped_table

_APPLIED = "payymo_tenant_settings"
# The system scope switches to the system role where it serves this database (it has
# the tables) and the session may; asked afresh at each switch, so a database migrated,
# or a membership granted, under a running app takes effect at once.
_SERVES = (
    "SELECT FROM pg_roles r WHERE r.rolname = %(role)s AND r.rolbypassrls "
    "AND pg_has_role(session_user, r.oid, 'MEMBER') "
    "AND has_table_privilege(r.oid, to_regclass('tenants'), 'SELECT')"
)
_SET = (
    "SELECT set_config('payymo.tenant_id', %(tenant)s, true), "
    "set_config('payymo.system', %(system)s, true), "
    f"set_config('role', CASE WHEN %(system)s = 'on' AND EXISTS ({_SERVES}) "
    "THEN %(role)s ELSE 'none' END, true)"
)
_FRESH = ("", "off")  # what a new transaction starts with (and its login role)
# Savepoint commands read no rows, and must run even in an aborted transaction.
_TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def _wanted() -> tuple[str, str]:
    if _system.get():
        return "", "on"
    return _tenant.get() or "", "off"


@event.listens_for(Engine, "before_execute")
def _refuse_unscoped_core(conn, clauseelement, multiparams, params, execution_options):
    if _system.get() or _tenant.get() is not None:
        return
    if isinstance(clauseelement, SelectBase | UpdateBase) and touches_scoped_table(clauseelement):
        raise NoTenantContext("statement on a tenant-owned table with no tenant in scope")


@event.listens_for(Engine, "before_cursor_execute")
def _apply_tenant_settings(conn, cursor, statement, parameters, context, executemany):
    if conn.dialect.name != "postgresql":
        return
    wanted = _wanted()
    if conn.info.get(_APPLIED) == wanted or statement.startswith(_TRANSACTION_CONTROL):
        return
    driver = cursor.connection
    if driver.autocommit:
        return  # each statement is its own transaction: nothing to carry over
    # A cursor of its own: the statement's cursor may be a server-side one.
    tenant, system = wanted
    driver.execute(_SET, {"tenant": tenant, "system": system, "role": SYSTEM_ROLE})
    conn.info[_APPLIED] = wanted


@event.listens_for(Engine, "begin")
def _fresh_transaction(conn) -> None:
    conn.info[_APPLIED] = _FRESH


def _forget(conn, *_args) -> None:
    conn.info.pop(_APPLIED, None)


for _name in ("commit", "rollback", "rollback_savepoint"):
    event.listen(Engine, _name, _forget)
