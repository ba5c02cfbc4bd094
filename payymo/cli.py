"""The ``payymo`` command: serve, worker, jobs, db upgrade, import, tenants, keys, demo.

Settings come from ``payymo.runtime`` (the environment, or whatever a test installed).
Commands that print data print exactly one JSON document on stdout; logs and hints go
to stderr. Like a view, each command commits its own work.
"""

from __future__ import annotations

import ipaddress
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from payymo import db, money, runtime
from payymo.config import ConfigError, Settings
from payymo.errors import PayymoError

MAX_DEFAULT_WORKERS = 8
DISPATCHER = "tasks.webhooks.Dispatcher"
RUN_DISPATCHER = "tasks.webhooks.run_dispatcher"


class ConfigFailure(click.ClickException):
    """The environment does not give a safe configuration: refuse to start."""

    exit_code = 2


def _settings() -> Settings:
    try:
        settings = runtime.settings()
    except ConfigError as exc:
        raise ConfigFailure(str(exc)) from None
    from payymo.observability import setup_logging

    setup_logging(settings.log_level)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    return settings


@contextmanager
def _unit_of_work() -> Iterator[Session]:
    """The scoped session, committed on success; domain errors become CLI errors."""
    session = db.session
    try:
        yield session
        session.commit()
    except PayymoError as exc:
        session.rollback()
        raise click.ClickException(exc.message) from None
    except BaseException:
        session.rollback()
        raise
    finally:
        db.session.remove()


def _emit(document) -> None:
    click.echo(json.dumps(document, default=str))


@click.group()
def main() -> None:
    """Payymo: multi-tenant open-banking reconciliation."""


# -- serving ------------------------------------------------------------------------------


def default_workers() -> int:
    """gunicorn's rule of thumb (2 * CPUs + 1), capped: each worker holds a DB pool."""
    return min(2 * (os.cpu_count() or 1) + 1, MAX_DEFAULT_WORKERS)


def _run_gunicorn(settings: Settings, bind: str, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    class PayymoGunicorn(BaseApplication):
        def load_config(self):
            options = {
                "bind": bind,
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "proc_name": "payymo",
                "keepalive": 5,
                # Recycle workers now and then so a slow leak never takes a node down.
                "max_requests": 10_000,
                "max_requests_jitter": 1_000,
                "errorlog": "-",
                # One default control socket per user would clash between instances.
                "control_socket_disable": True,
                "loglevel": settings.log_level.lower(),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            # Runs in each worker after the fork: every worker gets its own engine.
            from payymo import create_app

            return create_app(settings)

    PayymoGunicorn().run()


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (a name is not resolved: it may change)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(min=1), help="gunicorn workers (production).")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(min=1))
def serve(host: str, port: int, workers: int | None, threads: int) -> None:
    """Serve the API: gunicorn when PAYYMO_ENV=production, the development server otherwise."""
    settings = _settings()
    if settings.env == "production":
        _run_gunicorn(settings, f"{host}:{port}", workers or default_workers(), threads)
        return
    if settings.env != "development" and not is_loopback(host):
        raise ConfigFailure(
            f"refusing to serve Flask's development server on {host} with "
            f"PAYYMO_ENV={settings.env}: bind a loopback address (127.0.0.1), or set "
            "PAYYMO_ENV=production to serve with gunicorn."
        )
    from payymo import create_app, jobs, sweeper

    settings, bank_fake = _local_bank_fake(settings)
    settings, stripe_fake = _local_stripe_fake(settings)
    app = create_app(settings)
    if stripe_fake is not None:
        _link_demo_to_fake(settings, stripe_fake, f"http://{host}:{port}")
    # Embedded default: jobs run in this process, and so do the sweep that catches them up
    # and the webhook dispatcher (retries included).
    sweep = sweeper.in_process(settings).start() if settings.embedded else None
    webhooks = jobs.resolve(DISPATCHER)(settings).start() if settings.embedded else None
    click.echo(f"Payymo ({settings.env}) on http://{host}:{port}  (Ctrl-C stops)", err=True)
    try:
        app.run(host=host, port=port, threaded=True, use_reloader=False)
    finally:
        if webhooks is not None:
            webhooks.stop(timeout=5)
        if sweep is not None:
            sweep.stop(timeout=5)
        if bank_fake is not None:
            bank_fake.stop()
        if stripe_fake is not None:
            stripe_fake.stop()


def _local_bank_fake(settings: Settings):
    """Without credentials for the bank provider (outside production), serve its fake.

    The demo tenant can then connect the sandbox bank end to end; with credentials set,
    the real API is used and no fake is started.
    """
    import importlib

    from payymo.services.banking.providers import platform_credentials

    name = settings.bank_provider
    if settings.env == "production" or platform_credentials(name) is not None:
        return settings, None
    try:
        fake = importlib.import_module(f"integrations.{name}.fake")
    except ModuleNotFoundError:
        return settings, None
    local = fake.serve_in_thread()
    prefix = f"PAYYMO_{name.upper()}_"
    extra = {prefix + "BASE_URL": local.base_url}
    extra |= {prefix + field.upper(): value for field, value in local.credentials.items()}
    settings = settings.with_overrides(provider_env={**settings.provider_env, **extra})
    runtime.configure(settings)
    click.echo(f"No {name} credentials: its fake serves at {local.base_url}", err=True)
    return settings, local


FAKE_STRIPE_PORT = 12111


def _local_stripe_fake(settings: Settings):
    """Outside production, with no Stripe address set, serve a fake Stripe in-process."""
    if settings.env == "production" or settings.stripe_api_base:
        return settings, None
    from integrations.stripe.fake import serve_in_thread
    from payymo.services.stripe.demo import demo_credentials

    try:  # the port the README's demo commands use, when it is free
        local = serve_in_thread(port=FAKE_STRIPE_PORT)
    except OSError:
        local = serve_in_thread()
    key, _secret = demo_credentials(settings.secret_key)
    local.fake.new_account(key)
    settings = settings.with_overrides(stripe_api_base=local.base_url)
    runtime.configure(settings)
    click.echo(f"No Stripe address set: a fake Stripe serves at {local.base_url}", err=True)
    return settings, local


def _link_demo_to_fake(settings: Settings, local, base_url: str) -> None:
    """Link the demo tenant to the fake, and send the fake's events to our own webhook."""
    from payymo.demo import DEMO_TENANT
    from payymo.services.stripe.demo import demo_credentials, link_demo
    from payymo.sweeper import Periodic

    key, secret = demo_credentials(settings.secret_key)
    with _unit_of_work() as session:
        tenant_id = link_demo(
            session=session, tenant_name=DEMO_TENANT, api_key=key, webhook_secret=secret
        )
    if tenant_id is None:
        return
    local.fake.send_webhooks_to(key, f"{base_url}/webhooks/stripe/{tenant_id}", secret)
    # The fake sends what happened every couple of seconds, as Stripe would.
    local.poster = Periodic("fake-stripe-webhooks", 2, lambda: local.fake.deliver(key)).start()
    click.echo(
        "The demo tenant is linked to the fake Stripe; its test key drives the fake:\n"
        f"  STRIPE={local.base_url} SK={key}",
        err=True,
    )


@main.command("fake-gocardless")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8100, show_default=True, type=click.IntRange(1, 65535))
@click.option("--daily-limit", default=4, show_default=True, type=click.IntRange(min=1))
def fake_gocardless(host: str, port: int, daily_limit: int) -> None:
    """Serve the fake GoCardless (prints its base URL and credentials as JSON)."""
    from integrations.gocardless.fake import main as serve_fake

    serve_fake(["--host", host, "--port", str(port), "--daily-limit", str(daily_limit)])


@main.command("fake-stripe")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=12111, show_default=True, type=click.IntRange(1, 65535))
def fake_stripe(host: str, port: int) -> None:
    """Serve the fake Stripe API (prints its base address and a test key as JSON)."""
    from integrations.stripe.fake import main as serve_fake

    serve_fake(["--host", host, "--port", str(port)])


@main.command()
@click.option("--burst", is_flag=True, help="Work off what is queued, then exit (no sweeps).")
@click.option(
    "--webhooks/--no-webhooks",
    default=True,
    show_default=True,
    help="Also run a webhook dispatcher (in a process of its own).",
)
def worker(burst: bool, webhooks: bool) -> None:
    """Run an RQ worker on the high, default and low queues, sweep stuck jobs, send webhooks."""
    settings = _settings()
    if not settings.redis_url:
        raise ConfigFailure(
            "PAYYMO_REDIS_URL is not set: without Redis, jobs run inside the web process "
            "and no worker is needed. Set it to run workers."
        )
    import redis
    from rq import Queue, Worker

    from payymo.jobs import QUEUES, preload
    from payymo.warm_up import warm_up

    preload()
    conn = redis.Redis.from_url(settings.redis_url)
    try:
        conn.ping()
    except redis.RedisError:
        raise click.ClickException("cannot reach Redis at PAYYMO_REDIS_URL") from None
    warm_up()
    queues = [Queue(name, connection=conn) for name in QUEUES]
    from payymo import sweeper

    sweep = None if burst else sweeper.scheduler(settings).start()
    dispatcher = _dispatcher_process() if webhooks and not burst else None
    try:
        Worker(queues, connection=conn).work(burst=burst, logging_level=settings.log_level)
    finally:
        if sweep is not None:
            sweep.stop(timeout=5)
        if dispatcher is not None:
            dispatcher.terminate()
            dispatcher.join(10)


def _dispatcher_process():
    """The webhook dispatcher in a spawned process: RQ forks per job, and a fork must not
    inherit the dispatcher's threads, connections or locks."""
    import multiprocessing

    from payymo import jobs

    process = multiprocessing.get_context("spawn").Process(
        target=jobs.resolve(RUN_DISPATCHER), name="payymo-webhooks", daemon=True
    )
    process.start()
    return process


@main.group("webhooks")
def webhooks_group() -> None:
    """Webhook delivery."""


@webhooks_group.command("listen")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--secret", default=None, help="The endpoint's whsec_… secret, to check signatures.")
@click.option("--status", default=200, show_default=True, type=click.IntRange(200, 599))
def webhooks_listen(host: str, port: int, secret: str | None, status: int) -> None:
    """Receive webhooks locally and print each one (point an endpoint at the URL shown)."""
    from integrations.webhooks.listener import server

    listening = server(host, port, secret=secret, status=status, out=click.echo)
    click.echo(f"listening on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    try:
        listening.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        listening.server_close()


@webhooks_group.command("dispatch")
@click.option("--once", is_flag=True, help="Deliver what is due now, print counts, exit.")
def webhooks_dispatch(once: bool) -> None:
    """Send webhooks: fan events out, deliver, retry on schedule (payymo worker runs this)."""
    from payymo import jobs

    _settings()
    if once:
        _emit(jobs.resolve(RUN_DISPATCHER)(once=True))
        return
    click.echo("webhook dispatcher running (Ctrl-C stops)", err=True)
    jobs.resolve(RUN_DISPATCHER)()


@main.command()
@click.option(
    "--interval",
    default=60,
    show_default=True,
    type=click.IntRange(1, 3600),
    help="Seconds between passes.",
)
@click.option("--once", is_flag=True, help="One pass, print its counts, exit.")
def scheduler(interval: int, once: bool) -> None:
    """Start due bank syncs and mark expiring consents (workers' sweeps do this too)."""
    from payymo import jobs
    from payymo.sweeper import Periodic

    _settings()
    tick = jobs.resolve("tasks.bank_sync.schedule_syncs")
    if once:
        _emit(tick())
        return
    loop = Periodic("bank-scheduler", interval, tick).start()
    click.echo(f"bank sync scheduler: a pass every {interval} s (Ctrl-C stops)", err=True)
    try:
        while True:
            loop.wait(3600)
    except KeyboardInterrupt:
        loop.stop(timeout=5)


# -- jobs ---------------------------------------------------------------------------------


@main.group("jobs")
def jobs_group() -> None:
    """Background jobs (operator access: all tenants)."""


@jobs_group.command("stuck")
@click.option(
    "--older-than",
    default=60,
    show_default=True,
    type=click.IntRange(min=0),
    help="Seconds a job has been queued or running.",
)
def jobs_stuck(older_than: int) -> None:
    """Print jobs queued or running for a while, or failed and waiting for a retry (JSON)."""
    import datetime as dt

    from payymo.db import utcnow
    from payymo.services import job_sweeper
    from payymo.tenancy import system_scope

    _settings()
    with _unit_of_work() as session, system_scope():
        rows = [
            {
                "id": job.id,
                "tenant_id": job.tenant_id,
                "type": job.type,
                "status": job.status,
                "attempts": job.attempts,
                "created_at": job.created_at.isoformat(),
                "started_at": job.started_at and job.started_at.isoformat(),
                "next_attempt_at": job.next_attempt_at and job.next_attempt_at.isoformat(),
                "error": job.error,
            }
            for job in job_sweeper.unfinished_jobs(
                session=session, now=utcnow(), older_than=dt.timedelta(seconds=older_than)
            )
        ]
    _emit(rows)


@jobs_group.command("sweep")
def jobs_sweep() -> None:
    """Sweep once now (what workers do every PAYYMO_SWEEP_INTERVAL); prints the counts."""
    from payymo import jobs, sweeper

    _settings()
    _emit(jobs.resolve(sweeper.SWEEP_TASK)())


# -- database -----------------------------------------------------------------------------


@main.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to the latest schema (safe to run repeatedly)."""
    from payymo import migrate

    settings = _settings()
    owner_url = settings.migration_database_url or settings.database_url
    migrate.upgrade(owner_url, revision)
    click.echo(f"database upgraded to {revision}", err=True)
    role = migrate.app_role(owner_url, settings.database_url)
    if role is not None:
        migrate.grant_app_access(owner_url, role)
        click.echo(f"granted table access to the app role {role}", err=True)


@db_group.command("search-indexes")
def db_search_indexes() -> None:
    """Build the trigram indexes and search functions a database lacks (PostgreSQL)."""
    from sqlalchemy import create_engine

    from payymo.db import utcnow
    from payymo.services import search_indexes, search_names

    settings = _settings()
    url = settings.migration_database_url or settings.database_url
    if make_url(url).get_backend_name() != "postgresql":
        _emit({"created": [], "note": "SQLite keeps its plain LIKE: nothing to build."})
        return
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            available, why = search_indexes.trigram_available(conn, in_transaction=False)
            if not available:
                raise click.ClickException(
                    f"pg_trgm is not available ({why}): {search_indexes.HOW_TO}."
                )
            todo = search_indexes.build_missing(conn)
            if search_names.exists(conn) and search_names.build_index(conn):
                todo.append(search_names.INDEX)
            lacking = search_indexes.functions_missing(conn)
            if lacking:
                installed, why = search_indexes.install_functions(conn, in_transaction=False)
                if not installed:
                    raise click.ClickException(
                        f"the search functions need a superuser ({why}): {search_indexes.HOW_TO}."
                    )
                todo += lacking
            sampled = search_indexes.sample_common_trigrams(conn, utcnow())
    finally:
        engine.dispose()
    _emit({"created": todo, "common_trigrams": sampled})


@db_group.command("system-role")
def db_system_role() -> None:
    """Serve the system scope by a role that bypasses row-level security (a superuser's job)."""
    from sqlalchemy import create_engine

    from payymo import migrate
    from payymo.tenancy import policies

    settings = _settings()
    url = settings.migration_database_url or settings.database_url
    if make_url(url).get_backend_name() != "postgresql":
        _emit({"role": None, "note": "SQLite has no row-level security: nothing to do."})
        return
    app = make_url(settings.database_url).username
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            installed, why = policies.install_system_role(conn)
            if not installed:
                raise click.ClickException(f"{why}: {policies.HOW_TO}.")
            tables = policies.walled_tables(conn)
            if app:
                policies.grant_membership(conn, app)
    finally:
        engine.dispose()
    role = migrate.app_role(url, settings.database_url)
    if role is not None:
        migrate.grant_app_access(url, role)
    _emit({"role": policies.SYSTEM_ROLE, "policies": len(tables), "member": app})


@db_group.command("check-rollups")
@click.option("--tenant", "tenant_id", default=None, help="Check one tenant (ten_…) only.")
def db_check_rollups(tenant_id: str | None) -> None:
    """Recompute every rollup group from the rows and compare; exits 1 on a difference."""
    from payymo.services.rollups import upkeep
    from payymo.tenancy import system_scope

    _settings()
    with _unit_of_work() as session, system_scope():
        differences = upkeep.check(session=session, tenant_id=tenant_id)
    _emit(
        {
            "ok": not differences,
            "differences": [
                {"group": d.group, "expected": d.expected, "found": d.found} for d in differences
            ],
        }
    )
    if differences:
        raise SystemExit(1)


# -- tenants and keys ---------------------------------------------------------------------


def _check_tenant_options(settings: Settings, name: str, currency: str, plan: str) -> str:
    if not name.strip() or len(name) > 200:
        raise click.BadParameter("must be 1 to 200 characters", param_hint="--name")
    code = money.currency_code(currency)
    if code is None:
        raise click.BadParameter(f"{currency!r} is not an ISO 4217 code", param_hint="--currency")
    if plan not in settings.plan_rate_limits:
        choices = ", ".join(sorted(settings.plan_rate_limits))
        raise click.BadParameter(f"must be one of {choices}", param_hint="--plan")
    return code


def _create_tenant(
    session: Session, name: str, currency: str, plan: str = "standard", key_name: str = "cli"
):
    from payymo.services import api_keys, tenants
    from payymo.tenancy import tenant_scope

    tenant = tenants.create_tenant(
        session=session, name=name.strip(), default_currency=currency, plan=plan
    )
    with tenant_scope(tenant.id):
        _key, secret = api_keys.create_key(session=session, name=key_name)
    return tenant, secret


@main.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--account", "account_id", required=True, help="The manual account (ba_…).")
@click.option(
    "--format",
    "file_format",
    default=None,
    help="camt.053, camt.052, camt.054, mt940, ofx or csv (default: detected).",
)
@click.option("--mapping", default=None, help="CSV columns as JSON, or a preset name.")
def import_file(path: Path, account_id: str, file_format: str | None, mapping: str | None) -> None:
    """Import a statement file into a manual account; prints the summary (JSON)."""
    from payymo.models import BankAccount
    from payymo.services.batch import summarise
    from payymo.services.statements.importer import ROW_STATUSES, import_statement
    from payymo.tenancy import system_scope, tenant_scope

    _settings()
    columns = _mapping_option(mapping)
    data = path.read_bytes()
    with _unit_of_work() as session:
        with system_scope():
            account = session.get(BankAccount, account_id)
            tenant_id = account.tenant_id if account is not None else None
        if tenant_id is None:
            raise click.ClickException(f"No bank account '{account_id}'.")
        with tenant_scope(tenant_id), _Progress(f"writing {path.name}") as progress:
            done = import_statement(
                session=session,
                account_id=account_id,
                data=data,
                format=file_format,
                filename=path.name,
                mapping=columns,
                progress=progress.update,
            )
    counts, _results, _status = summarise(done.results, ROW_STATUSES)
    click.echo(
        f"{path.name} ({done.format}): {len(done.results):,} lines, {counts['created']:,} created,"
        f" {counts['duplicate']:,} duplicate, {counts['error']:,} failed",
        err=True,
    )
    _emit(
        {
            "account_id": done.account_id,
            "format": done.format,
            "counts": counts,
            "opening_balance": done.opening_balance,
            "closing_balance": done.closing_balance,
            "warnings": done.warnings,
            "errors": [r.error for r in done.results if r.error][:100],
        }
    )


class _Progress:
    """A progress bar on stderr, drawn once the file's number of lines is known."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar = None

    def __enter__(self):
        return self

    def update(self, done: int, total: int) -> None:
        """``done`` of the file's ``total`` lines are written (or known, or failed)."""
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)


def _mapping_option(text: str | None) -> dict | None:
    from payymo.services.statements.importer import mapping_from_text

    if text is None:
        return None
    try:
        return mapping_from_text(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--mapping") from None


@main.group()
def tenants() -> None:
    """Tenants (operator access: all tenants)."""


@tenants.command("create")
@click.option("--name", required=True)
@click.option("--currency", default="EUR", show_default=True, help="Default currency.")
@click.option("--plan", default="standard", show_default=True, help="Rate-limit plan.")
def tenants_create(name: str, currency: str, plan: str) -> None:
    """Create a tenant with an admin key; prints {"tenant_id", "api_key"}."""
    settings = _settings()
    currency = _check_tenant_options(settings, name, currency, plan)
    with _unit_of_work() as session:
        tenant, secret = _create_tenant(session, name, currency, plan)
        tenant_id = tenant.id
    _emit({"tenant_id": tenant_id, "api_key": secret})


@tenants.command("list")
def tenants_list() -> None:
    """Print every tenant as a JSON array."""
    from payymo.services import tenants as service

    _settings()
    with _unit_of_work() as session:
        rows = [
            {
                "id": t.id,
                "name": t.name,
                "status": t.status,
                "plan": t.plan,
                "default_currency": t.default_currency,
                "created_at": t.created_at.isoformat(),
            }
            for t in service.list_tenants(session=session)
        ]
    _emit(rows)


@main.group()
def partners() -> None:
    """White-label partners (operator access)."""


@partners.command("create")
@click.option("--name", required=True, help="The partner's name.")
def partners_create(name: str) -> None:
    """Create a partner with a read and write key; prints {"partner_id", "api_key"} only."""
    from payymo.services.partners.accounts import create_partner

    _settings()
    if not name.strip():
        raise click.BadParameter("must not be blank", param_hint="--name")
    with _unit_of_work() as session:
        partner, secret = create_partner(session=session, name=name)
        partner_id = partner.id
    _emit({"partner_id": partner_id, "api_key": secret})


@partners.command("list")
def partners_list() -> None:
    """Print every partner as a JSON array, with how many tenants each owns."""
    from sqlalchemy import func

    from payymo.models import Partner, Tenant

    _settings()
    with _unit_of_work() as session:
        owned = dict(
            session.execute(
                select(Tenant.partner_id, func.count(Tenant.id)).group_by(Tenant.partner_id)
            ).all()
        )
        rows = [
            {
                "id": p.id,
                "name": p.name,
                "status": p.status,
                "tenant_count": owned.get(p.id, 0),
                "created_at": p.created_at.isoformat(),
            }
            for p in session.scalars(select(Partner).order_by(Partner.id))
        ]
    _emit(rows)


@main.group()
def keys() -> None:
    """API keys."""


@keys.command("create")
@click.option("--tenant", "tenant_id", required=True, help="Tenant id (ten_…).")
@click.option("--scope", "scopes", multiple=True, help="Repeat for several; default admin.")
@click.option("--name", default=None, help="A label for the key.")
def keys_create(tenant_id: str, scopes: tuple[str, ...], name: str | None) -> None:
    """Mint a key for a tenant; prints it once as JSON."""
    from payymo.models import Tenant
    from payymo.services import api_keys
    from payymo.tenancy import tenant_scope

    _settings()
    with _unit_of_work() as session:
        if session.get(Tenant, tenant_id) is None:
            raise click.ClickException(f"no such tenant: {tenant_id}")
        with tenant_scope(tenant_id):
            key, secret = api_keys.create_key(session=session, name=name, scopes=list(scopes))
        document = {
            "id": key.id,
            "tenant_id": tenant_id,
            "api_key": secret,
            "prefix": key.prefix,
            "scopes": list(key.scopes),
        }
    _emit(document)


@main.command()
@click.option(
    "--url", default="http://127.0.0.1:8000", show_default=True, help="Base URL for the hint."
)
def demo(url: str) -> None:
    """Create the "Demo Ltd" tenant with sample data once; print a new key replacing the last."""
    from payymo.demo import (
        DEMO_KEY_NAME,
        DEMO_TENANT,
        demo_portal_link,
        replace_demo_key,
        seed_demo,
    )
    from payymo.models import Tenant
    from payymo.tenancy import tenant_scope

    _settings()
    with _unit_of_work() as session:
        tenant = session.scalars(
            select(Tenant).where(Tenant.name == DEMO_TENANT).order_by(Tenant.id).limit(1)
        ).one_or_none()
        created = tenant is None
        replaced: list[str] = []
        if created:
            tenant, secret = _create_tenant(session, DEMO_TENANT, "GBP", key_name=DEMO_KEY_NAME)
            with tenant_scope(tenant.id):
                seed_demo(session=session)
        else:
            with tenant_scope(tenant.id):
                _key, secret, replaced = replace_demo_key(session=session)
        tenant_id = tenant.id
        partner_id, token = demo_portal_link(session=session, tenant=tenant)
    portal_url = f"{url.rstrip('/')}/portal/sign-in/{token}"
    _emit(
        {
            "tenant_id": tenant_id,
            "api_key": secret,
            "created": created,
            "replaced": replaced,
            "partner_id": partner_id,
            "portal_url": portal_url,
        }
    )
    if replaced:
        noun = "key" if len(replaced) == 1 else "keys"
        click.echo(
            f"\nReplaced the previous demo {noun} {', '.join(replaced)} (revoked).", err=True
        )
    click.echo(
        f"\nDemo tenant {DEMO_TENANT} ({tenant_id}) is ready. Its new API key is shown once.\n"
        f'Try:  curl -s -H "X-API-Key: {secret}" {url.rstrip("/")}/api/v1/invoices\n'
        f"Its portal, as the demo partner's customer sees it (one use, 24 hours):\n"
        f"      {portal_url}\n",
        err=True,
    )
