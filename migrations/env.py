"""Alembic environment on payymo.db.Base.metadata."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

import payymo.models  # noqa: F401 (registers every table)
from payymo.db import Base
from payymo.migrate import include_object

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from payymo import runtime

        url = runtime.settings().database_url
    return url


def _configure(**kwargs) -> None:
    url = str(kwargs.get("url") or kwargs["connection"].engine.url)
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=url.startswith("sqlite"),
        include_object=include_object,
        **kwargs,
    )


def run_offline() -> None:
    _configure(url=_url(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(_url())
    with engine.connect() as conn:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
