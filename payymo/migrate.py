"""Run Alembic migrations from code (``payymo db upgrade``, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


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
