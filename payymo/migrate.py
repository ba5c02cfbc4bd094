"""Run Alembic migrations from code (``payymo db upgrade``, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """What autogenerate compares: all but the trigram indexes (migration-only, PostgreSQL)."""
    from payymo.services.search_indexes import SUFFIX

    return not (type_ == "index" and reflected and str(name).endswith(SUFFIX))


def alembic_config(database_url: str, connection=None) -> Config:
    """An Alembic config pointing at our migrations and ``database_url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["database_url"] = database_url
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(database_url: str, revision: str = "head", connection=None) -> None:
    """Migrate the database to ``revision``."""
    command.upgrade(alembic_config(database_url, connection), revision)


def app_role(owner_url: str, app_url: str) -> str | None:
    """The role the app connects as, when it is not the one that owns the schema."""
    owner, app = make_url(owner_url), make_url(app_url)
    if owner.get_backend_name() != "postgresql" or not app.username:
        return None
    return app.username if app.username != owner.username else None


def grant_app_access(owner_url: str, role: str) -> None:
    """Let ``role`` read and write every table (as the owner); RLS still applies to it.

    The app should connect as a role that owns nothing: row-level security is forced
    on the tenant tables, but a superuser or a BYPASSRLS role would skip it. Where the
    cluster has the system role (migration 0030), it gets the same tables and ``role``
    becomes its member: the system scope switches to it (``tenancy.database``).
    """
    engine = create_engine(owner_url)
    try:
        with engine.begin() as conn:
            quoted = conn.dialect.identifier_preparer.quote(role)
            schema = conn.execute(text("SELECT current_schema()")).scalar_one()
            schema = conn.dialect.identifier_preparer.quote(schema)
            conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {quoted}"))
            conn.execute(
                text(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} "
                    f"TO {quoted}"
                )
            )
            conn.execute(text(f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {quoted}"))
            conn.execute(
                text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {quoted}")
            )
            # Runs as the owner, on a fixed list of tables (migration 0010, if applied).
            analyze = conn.execute(text("SELECT to_regprocedure('payymo_analyze(text)')")).scalar()
            if analyze:
                conn.execute(text(f"GRANT EXECUTE ON FUNCTION payymo_analyze(text) TO {quoted}"))
            _grant_system_role(conn, schema, role, analyze=bool(analyze))
    finally:
        engine.dispose()


def _grant_system_role(conn, schema: str, role: str, *, analyze: bool) -> None:
    """The system role's grants on tables added since, and ``role``'s membership of it.

    Wherever the cluster has the role, so that an app already switching to it keeps
    working when a later migration (0030, as a superuser) drops the policies' branch.
    A membership refused is an error only where the policies no longer have the branch.
    """
    from payymo.tenancy import policies

    if not policies.system_role_exists(conn):
        return
    for statement in policies.grant_statements(schema):
        conn.execute(text(statement))
    if analyze:
        conn.execute(
            text(f"GRANT EXECUTE ON FUNCTION payymo_analyze(text) TO {policies.SYSTEM_ROLE}")
        )
    try:
        with conn.begin_nested():
            policies.grant_membership(conn, role)
    except DBAPIError as exc:
        if policies.condition_in_use(conn) != policies.CONDITION:
            return  # the policies keep their payymo.system branch: the setting serves
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        raise RuntimeError(
            f"the app role {role} may not switch to {policies.SYSTEM_ROLE} ({reason}), so "
            f"its system scope would see no rows: {policies.HOW_TO}."
        ) from exc
