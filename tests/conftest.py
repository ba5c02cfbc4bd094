"""Fixtures: a migrated database once per run, savepoint rollback per test.

PostgreSQL and Redis by default (``PAYYMO_TEST_DATABASE_URL``/``PAYYMO_TEST_REDIS_URL``);
``PAYYMO_TEST_EMBEDDED=1`` runs on SQLite with in-process jobs and no Redis. Under
``pytest -n N`` (pytest-xdist) each worker gets a database and a Redis database of its
own: ``<database>_gw0`` (created when missing), and the Redis number less the worker's.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from integrations.gocardless.fake import FakeGoCardless, serve_in_thread
from integrations.stripe.fake import FakeStripe
from integrations.stripe.fake import serve_in_thread as serve_stripe
from payymo import create_app, db, migrate
from payymo.config import DEFAULT_PLAN_RATE_LIMITS, Settings
from payymo.models import Tenant
from payymo.services import api_keys as key_service
from payymo.services import tenants as tenant_service
from payymo.services.partners.accounts import create_partner
from payymo.tenancy import system_scope, tenant_scope
from tests.helpers import ApiClient, SettledClient, TenantHandle
from tests.partners import PartnerHandle

EMBEDDED = os.environ.get("PAYYMO_TEST_EMBEDDED") == "1"
WORKER = os.environ.get("PYTEST_XDIST_WORKER")  # "gw0", "gw1", … under pytest -n
SHARED_PG_URL = os.environ.get(
    "PAYYMO_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SHARED_REDIS_URL = os.environ.get("PAYYMO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _own(url: str, *, redis: bool) -> str:
    """``url`` for this worker: its own database (a plain run keeps ``url``)."""
    if WORKER is None:
        return url
    parsed = make_url(url)
    if redis:
        number = int(parsed.database or 0) - int(WORKER.removeprefix("gw"))
        if number < 0:
            raise pytest.UsageError(f"{url}: too few Redis databases for worker {WORKER}")
        return parsed.set(database=str(number)).render_as_string(hide_password=False)
    return parsed.set(database=f"{parsed.database}_{WORKER}").render_as_string(hide_password=False)


PG_URL = _own(SHARED_PG_URL, redis=False)
REDIS_URL = _own(SHARED_REDIS_URL, redis=True)
# The app connects as a role that owns nothing (no superuser, no BYPASSRLS), as in
# production, so row-level security is live in every test; migrations run as PG_URL's.
APP_ROLE = "payymo_test_app"
APP_URL = (
    make_url(PG_URL).set(username=APP_ROLE, password=None).render_as_string(hide_password=False)
)


def pytest_configure(config):
    if WORKER is not None and not EMBEDDED:
        _create_database(PG_URL)


def _create_database(url: str) -> None:
    """Create ``url``'s database if it is missing (connected to the shared one)."""
    name = make_url(url).database
    admin = create_engine(SHARED_PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()


# Set by .ci/suites on the PostgreSQL half of `make test`: tests that use no database
# give the same result on both halves, so they run on the embedded half only.
DATABASE_TESTS_ONLY = os.environ.get("PAYYMO_TEST_DATABASE_ONLY") == "1" and not EMBEDDED
# A module naming these reads the suite's database or dialect by itself.
_DIALECT_NAMES = ("EMBEDDED", "PG_URL", "APP_URL", "REDIS_URL", "PAYYMO_TEST_")


def uses_no_database(item) -> bool:
    """Whether a test touches neither database nor Redis, whichever half runs it."""
    if "settings" in getattr(item, "fixturenames", ()):  # every database fixture needs it
        return False
    if item.get_closest_marker("postgres") or item.get_closest_marker("redis"):
        return False
    return not _names_the_dialect(str(item.fspath))


@functools.cache
def _names_the_dialect(path: str) -> bool:
    source = Path(path).read_text()
    return any(name in source for name in _DIALECT_NAMES)


def pytest_report_header(config):
    if DATABASE_TESTS_ONLY:
        return "PAYYMO_TEST_DATABASE_ONLY=1: tests that use no database run on the embedded half"
    return None


def pytest_collection_modifyitems(config, items):
    if DATABASE_TESTS_ONLY:
        elsewhere = [item for item in items if uses_no_database(item)]
        if elsewhere:
            config.hook.pytest_deselected(items=elsewhere)
            items[:] = [item for item in items if not uses_no_database(item)]
        return
    if not EMBEDDED:
        return
    skip_pg = pytest.mark.skip(reason="needs PostgreSQL (embedded run)")
    skip_redis = pytest.mark.skip(reason="needs Redis (embedded run)")
    for item in items:
        # Markers, not keywords: keywords also hold directory names (a checkout named redis).
        if item.get_closest_marker("postgres"):
            item.add_marker(skip_pg)
        if item.get_closest_marker("redis"):
            item.add_marker(skip_redis)


@pytest.fixture(scope="session")
def gocardless_server():
    """The fake GoCardless on loopback for the whole run; the app's client talks to it."""
    local = serve_in_thread(FakeGoCardless())
    yield local
    local.stop()


@pytest.fixture
def gocardless(gocardless_server) -> FakeGoCardless:
    """The fake, put back as it was after the test (faults, clock, flags)."""
    fake = gocardless_server.fake
    yield fake
    fake.reset()


@pytest.fixture(scope="session")
def stripe_server():
    """The fake Stripe on loopback for the whole run; the app's adapter talks to it."""
    local = serve_stripe(FakeStripe())
    yield local
    local.stop()


@pytest.fixture
def fake_stripe(stripe_server) -> FakeStripe:
    """The fake Stripe (its accounts are per test: make one with ``new_account``)."""
    stripe_server.fake.faults.clear()
    return stripe_server.fake


@pytest.fixture(scope="session")
def settings(tmp_path_factory, gocardless_server, stripe_server) -> Settings:
    instance = tmp_path_factory.mktemp("instance")
    url = f"sqlite:///{instance / 'test.db'}" if EMBEDDED else APP_URL
    return Settings(
        env="test",
        database_url=url,
        migration_database_url=None if EMBEDDED else PG_URL,
        redis_url=None if EMBEDDED else REDIS_URL,
        secret_key="test-secret",
        encryption_key=Fernet.generate_key().decode(),
        instance_path=Path(instance),
        # Every test client is 127.0.0.1 and the suite sends many bad keys on purpose;
        # tests of the per-address limit lower it.
        bad_key_rate_limit=1_000_000,
        stripe_api_base=stripe_server.base_url,
        # Tests share one connection (savepoint per test), so a job must not run beside
        # the test's thread; tests/tasks/test_background_jobs.py runs the real default.
        inline_jobs=True,
        plan_rate_limits={**DEFAULT_PLAN_RATE_LIMITS, "fuzz": 1_000_000_000},
        provider_env={
            "PAYYMO_GOCARDLESS_BASE_URL": gocardless_server.base_url,
            "PAYYMO_GOCARDLESS_SECRET_ID": gocardless_server.credentials["secret_id"],
            "PAYYMO_GOCARDLESS_SECRET_KEY": gocardless_server.credentials["secret_key"],
        },
    )


def reset_schema(url: str) -> None:
    """Empty the test database and migrate it to head (as the schema's owner)."""
    if url.startswith("postgresql") and WORKER is not None:
        # Migrations create and alter cluster-wide roles: workers take turns.
        shared = create_engine(SHARED_PG_URL, poolclass=NullPool)
        try:
            with shared.connect() as conn:
                conn.execute(text("SELECT pg_advisory_lock(hashtext('payymo-test-reset'))"))
                try:
                    _reset_schema(url)
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(hashtext('payymo-test-reset'))"))
        finally:
            shared.dispose()
    else:
        _reset_schema(url)


def _reset_schema(url: str) -> None:
    engine = db.make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
            ensure_app_role(conn)
    engine.dispose()
    migrate.upgrade(url)
    if engine.dialect.name == "postgresql":
        migrate.grant_app_access(url, APP_ROLE)


def ensure_app_role(conn) -> None:
    """Create the tests' app role once per cluster (parallel runs may race to it)."""
    conn.execute(
        text(
            "DO $$ BEGIN "
            f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
        )
    )


@pytest.fixture(scope="session")
def app(settings):
    reset_schema(settings.migration_database_url or settings.database_url)
    application = create_app(settings)
    application.test_client_class = SettledClient
    if settings.redis_url:
        import redis

        redis.Redis.from_url(settings.redis_url).flushdb()
    yield application
    db.session.remove()


def _assert_rollups_exact(conn) -> None:
    """Every rollup group equals a recount of its rows (whatever path the test wrote by)."""
    from payymo.services.rollups import upkeep

    if conn.in_transaction() and not conn.get_transaction().is_active:
        return  # the test left the transaction failed: nothing can be read
    with Session(bind=conn, join_transaction_mode="create_savepoint") as check, system_scope():
        differences = upkeep.check(session=check)
    assert differences == [], f"rollups drifted from their rows: {differences[:3]}"


@pytest.fixture
def connection(app, request):
    """One outer transaction per test; every session commit is only a savepoint.

    After the test, the rollups must still equal their rows (``rollups_drift`` opts out).
    """
    conn = db.engine().connect()
    outer = conn.begin()
    db.session.remove()
    db.session_factory.configure(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield conn
        db.session.remove()
        if request.node.get_closest_marker("rollups_drift") is None:
            _assert_rollups_exact(conn)
    finally:
        db.session.remove()
        outer.rollback()
        conn.close()
        db.session_factory.configure(
            bind=db.engine(), join_transaction_mode="conditional_savepoint"
        )


@pytest.fixture
def committed_tenant(app):
    """A tenant and key committed on the real engine (for real races; no savepoint
    fixture); deleted afterwards, as the app's role, with its rollups."""
    from payymo.services.rollups import upkeep

    engine = db.engine()
    db.session.remove()
    # The test client's requests must use the real engine, not a test connection.
    db.session_factory.configure(bind=engine, join_transaction_mode="conditional_savepoint")
    with Session(engine) as session:
        tenant = tenant_service.create_tenant(session=session, name="Committed Ltd")
        with tenant_scope(tenant.id):
            _key, secret = key_service.create_key(session=session)
            session.commit()
        tenant_id = tenant.id
    try:
        yield tenant_id, secret
    finally:
        db.session.remove()
        with Session(engine) as session:
            # No scope: the cascade's rollup triggers may still append deltas.
            session.execute(Tenant.__table__.delete().where(Tenant.id == tenant_id))
            with system_scope():
                upkeep.forget_tenant(session=session, tenant_id=tenant_id)
            session.commit()


@pytest.fixture
def session(connection):
    return db.session


@pytest.fixture
def make_tenant(connection):
    """Create a tenant with one key; returns a handle with an API client."""
    client = None

    def factory(name: str = "Acme Ltd", *, scopes=None, currency: str = "EUR", plan="standard"):
        nonlocal client
        tenant = tenant_service.create_tenant(
            session=db.session, name=name, default_currency=currency, plan=plan
        )
        with tenant_scope(tenant.id):
            key, secret = key_service.create_key(session=db.session, scopes=scopes)
            db.session.commit()
        return TenantHandle(tenant_id=tenant.id, key_id=key.id, secret=secret)

    return factory


@pytest.fixture
def tenant(make_tenant):
    return make_tenant("Acme Ltd")


@pytest.fixture
def other_tenant(make_tenant):
    return make_tenant("Globex GmbH")


@pytest.fixture
def api(app, tenant) -> ApiClient:
    return ApiClient(app.test_client(), tenant.secret)


@pytest.fixture
def other_api(app, other_tenant) -> ApiClient:
    return ApiClient(app.test_client(), other_tenant.secret)


@pytest.fixture
def make_partner(app, connection):
    """Create a partner with a read and write key; answers a handle with its client."""

    def factory(name: str) -> PartnerHandle:
        partner, secret = create_partner(session=db.session, name=name)
        db.session.commit()
        return PartnerHandle(partner.id, ApiClient(app.test_client(), secret))

    return factory


@pytest.fixture
def partner_api(make_partner) -> ApiClient:
    """A partner's API client (the partner API's own routes need a partner key)."""
    return make_partner("Partner Ltd").api
