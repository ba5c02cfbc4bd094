"""The PostgreSQL row-level security policy every tenant-owned table carries.

Migrations call these with the tables they create; ``tests/test_tenant_wall.py`` checks
that every ``TenantScoped`` table has the policy, enabled and forced.

The policy admits the rows of the tenant in the transaction's ``payymo.tenant_id``
setting. The system scope (authentication, sweepers) reads across tenants as
``payymo_system``, a role that bypasses row-level security, which the app's role may
``SET ROLE`` to (``tenancy.database``). Before migration 0030, and where no superuser
could create that role, the policy had a second branch instead, ``payymo.system = 'on'``.
That branch cost every tenant's queries their row estimates: PostgreSQL could not join
the policy's equality to the query's own tenant condition, so it multiplied the two and
expected a small tenant's 10,000 lines to be 35, and chose plans that read them all.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

POLICY = "tenant_isolation"
SYSTEM_ROLE = "payymo_system"
# payymo.tenant_id is set inside a tenant's scope only.
CONDITION = "tenant_id = current_setting('payymo.tenant_id', true)"
# The earlier form: the system scope as a setting (migrations 0004 to 0023 create it).
WITH_SYSTEM_SETTING = f"current_setting('payymo.system', true) = 'on' OR {CONDITION}"
HOW_TO = "run 'payymo db system-role' once as a superuser (PAYYMO_MIGRATION_DATABASE_URL)"


def enable(table: str, condition: str = WITH_SYSTEM_SETTING) -> list[str]:
    """SQL that puts ``table`` behind the tenant policy (its owner included).

    A migration after 0030 passes ``condition_in_use(bind)``: the form the others have.
    """
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'CREATE POLICY {POLICY} ON "{table}" USING ({condition}) WITH CHECK ({condition})',
    ]


def disable(table: str) -> list[str]:
    """SQL that takes ``table`` out from behind the tenant policy."""
    return [
        f'DROP POLICY IF EXISTS {POLICY} ON "{table}"',
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY',
    ]


def walled_tables(conn: Connection) -> list[str]:
    """The tables of the current schema that carry the tenant policy."""
    return list(
        conn.execute(
            text(
                "SELECT tablename FROM pg_policies WHERE schemaname = current_schema() "
                "AND policyname = :policy ORDER BY tablename"
            ),
            {"policy": POLICY},
        ).scalars()
    )


def condition_in_use(conn: Connection) -> str:
    """The policy's form in this database: ``CONDITION`` once the system role serves it."""
    settings_branch = conn.execute(
        text(
            "SELECT count(*) FROM pg_policies WHERE schemaname = current_schema() "
            "AND policyname = :policy AND qual LIKE '%payymo.system%'"
        ),
        {"policy": POLICY},
    ).scalar_one()
    return WITH_SYSTEM_SETTING if settings_branch else CONDITION


def grant_statements(schema: str) -> list[str]:
    """What the system role may do in ``schema``: what the app may, on every table."""
    return [
        f"GRANT USAGE ON SCHEMA {schema} TO {SYSTEM_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {SYSTEM_ROLE}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {SYSTEM_ROLE}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {SYSTEM_ROLE}",
    ]


def system_role_exists(conn: Connection) -> bool:
    """Whether the cluster has ``payymo_system``, able to bypass row-level security."""
    return bool(
        conn.execute(
            text("SELECT rolbypassrls FROM pg_roles WHERE rolname = :role"),
            {"role": SYSTEM_ROLE},
        ).scalar()
    )


def install_system_role(conn: Connection) -> tuple[bool, str | None]:
    """Create ``payymo_system`` (once per cluster), grant it the tables, drop the branch.

    Needs a superuser (a BYPASSRLS role, and members for it); anyone else gets the
    reason and nothing changes. The policies then keep their ``payymo.system`` branch,
    which the app keeps setting in the system scope. Runs in a savepoint of the
    caller's transaction.
    """
    superuser = conn.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    ).scalar()
    if not superuser:
        return False, "creating a role that bypasses row-level security needs a superuser"
    schema = conn.execute(text("SELECT current_schema()")).scalar_one()
    schema = conn.dialect.identifier_preparer.quote(schema)
    statements = [
        "DO $$ BEGIN "
        f"IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{SYSTEM_ROLE}') THEN "
        f"CREATE ROLE {SYSTEM_ROLE} NOLOGIN NOSUPERUSER BYPASSRLS; END IF; "
        "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
        # Only when it differs: a role's row is cluster-wide, and two databases migrating
        # at once would otherwise both update it ("tuple concurrently updated").
        "DO $$ BEGIN IF EXISTS (SELECT FROM pg_roles "
        f"WHERE rolname = '{SYSTEM_ROLE}' AND (rolcanlogin OR rolsuper OR NOT rolbypassrls)) "
        f"THEN ALTER ROLE {SYSTEM_ROLE} NOLOGIN NOSUPERUSER BYPASSRLS; END IF; END $$",
        *grant_statements(schema),
        *(
            f'ALTER POLICY {POLICY} ON "{table}" USING ({CONDITION}) WITH CHECK ({CONDITION})'
            for table in walled_tables(conn)
        ),
    ]
    try:
        with conn.begin_nested():
            for statement in statements:
                conn.execute(text(statement))
        return True, None
    except DBAPIError as exc:
        return False, str(getattr(exc, "orig", exc)).splitlines()[0]


def grant_membership(conn: Connection, role: str) -> None:
    """Let ``role`` (the app's) ``SET ROLE payymo_system`` (which exists); a no-op when it may."""
    member = conn.execute(
        text("SELECT pg_has_role(:role, :system, 'MEMBER')"),
        {"role": role, "system": SYSTEM_ROLE},
    ).scalar()
    if not member:
        quoted = conn.dialect.identifier_preparer.quote(role)
        conn.execute(text(f"GRANT {SYSTEM_ROLE} TO {quoted}"))


def restore_system_setting(conn: Connection) -> list[str]:
    """SQL that gives every policy its ``payymo.system`` branch back (0030's downgrade)."""
    return [
        f'ALTER POLICY {POLICY} ON "{table}" USING ({WITH_SYSTEM_SETTING}) '
        f"WITH CHECK ({WITH_SYSTEM_SETTING})"
        for table in walled_tables(conn)
    ]
