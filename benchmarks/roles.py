"""The role a benchmarked app connects as: not the owner, so row-level security applies."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

APP_ROLE = "payymo_bench_app"


def app_url(owner_url: str) -> str:
    """Create the bench app role (once), grant it the tables, return its URL.

    Call after migrating ``owner_url``'s database. A superuser or the tables' owner would
    skip the policies, and the benchmark would measure less than production runs.
    """
    from payymo import migrate

    engine = create_engine(owner_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(
            text(
                "DO $$ BEGIN "
                f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )
        )
    engine.dispose()
    migrate.grant_app_access(owner_url, APP_ROLE)
    url = make_url(owner_url).set(username=APP_ROLE, password=None)
    return url.render_as_string(hide_password=False)
