"""Engine, the scoped session, the declarative Base and shared column types."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, scoped_session, sessionmaker
from sqlalchemy.types import TypeDecorator

from payymo.tenancy import TenantSession

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(dt.UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value


def utcnow() -> dt.datetime:
    """The current time, timezone-aware UTC."""
    return dt.datetime.now(dt.UTC)


session_factory = sessionmaker(class_=TenantSession, expire_on_commit=False)
session = scoped_session(session_factory)
_engine: Engine | None = None
_engine_url: tuple[str, Timeouts | None] | None = None


@dataclass(frozen=True)
class Timeouts:
    """PostgreSQL session timeouts in milliseconds (0: off), set on every connection."""

    statement_ms: int = 0
    lock_ms: int = 0
    idle_in_transaction_ms: int = 0

    def options(self) -> str:
        """The libpq ``options`` string that sets them at connection start."""
        return (
            f"-c statement_timeout={self.statement_ms} -c lock_timeout={self.lock_ms} "
            f"-c idle_in_transaction_session_timeout={self.idle_in_transaction_ms}"
        )


def make_engine(url: str, timeouts: Timeouts | None = None) -> Engine:
    """Create an engine with the settings each backend needs."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy, not pysqlite, drive transactions so SAVEPOINTs work.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN")

        return engine
    connect_args = {"options": timeouts.options()} if timeouts else {}
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, connect_args=connect_args
    )


def configure(url: str, timeouts: Timeouts | None = None) -> Engine:
    """Point the scoped session at ``url`` (reusing the engine when unchanged)."""
    global _engine, _engine_url
    if _engine is not None and _engine_url == (url, timeouts):
        return _engine
    if _engine is not None:
        _engine.dispose()
    _engine, _engine_url = make_engine(url, timeouts), (url, timeouts)
    session.remove()
    session_factory.configure(bind=_engine)
    return _engine


def engine() -> Engine:
    """The configured engine; raises before ``configure``."""
    if _engine is None:
        raise RuntimeError("database not configured: call payymo.db.configure(url)")
    return _engine


@contextmanager
def custom_plans(session) -> Iterator[None]:
    """Plan this transaction's statements for their values, not generically (PostgreSQL).

    psycopg prepares a statement on its fifth run on a connection, and PostgreSQL may
    then reuse one plan for every value: a plan made without knowing how many rows an
    array of keys holds, or which account is asked for. Restored on the way out.
    """
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    before = session.scalar(select(func.current_setting("plan_cache_mode")))
    session.execute(select(func.set_config("plan_cache_mode", "force_custom_plan", True)))
    try:
        yield
    finally:
        session.execute(select(func.set_config("plan_cache_mode", before, True)))
