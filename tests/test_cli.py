"""The ``payymo`` command, in-process (CliRunner on the test settings) and as a real process."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import create_engine, delete, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from payymo import db, runtime
from payymo.cli import is_loopback, main
from payymo.db import utcnow
from payymo.models import ApiKey, BankAccount, Invoice, Job, Partner, Tenant, Transaction
from payymo.services import search_indexes, search_names
from payymo.tenancy import policies, system_scope, tenant_scope
from tests.helpers import ApiClient, invoice_body, plain_owner_database
from tests.tasks.processes import PAYYMO, ROOT, free_port, payymo_env, terminate


@pytest.fixture
def cli(session):
    """Invoke the CLI in-process; its commits are savepoints the test rolls back."""

    def invoke(*args: str):
        return CliRunner().invoke(main, list(args), catch_exceptions=False)

    return invoke


def _json(result) -> dict | list:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # fails unless stdout is exactly one JSON document


def test_tenants_create_prints_one_json_document_with_a_working_key(app, cli, session):
    doc = _json(cli("tenants", "create", "--name", "Cli Co", "--currency", "gbp"))
    assert set(doc) == {"tenant_id", "api_key"}
    api = ApiClient(app.test_client(), doc["api_key"])
    assert api.get("invoices").status_code == 200
    created = api.post("invoices", json=invoice_body(currency="GBP"))
    assert created.status_code == 201, created.get_json()
    tenant = session.get_one(Tenant, doc["tenant_id"])
    assert (tenant.name, tenant.default_currency, tenant.status) == ("Cli Co", "GBP", "active")


def test_tenants_create_rejects_a_bad_currency_and_creates_nothing(cli, session):
    before = session.scalar(select(func.count()).select_from(Tenant))
    result = cli("tenants", "create", "--name", "Bad Co", "--currency", "XYZ")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--currency" in result.stderr
    assert session.scalar(select(func.count()).select_from(Tenant)) == before


def test_partners_create_prints_only_its_id_and_a_working_partner_key(app, cli, session):
    doc = _json(cli("partners", "create", "--name", "Ledgerly"))
    assert set(doc) == {"partner_id", "api_key"} and doc["api_key"].startswith("pym_live_")
    partner = ApiClient(app.test_client(), doc["api_key"])
    made = partner.post("partner/tenants", json={"name": "Shop Ltd", "currency": "GBP"})
    assert made.status_code == 201, made.get_json()
    assert made.get_json()["tenant"]["partner_id"] == doc["partner_id"]
    assert session.get_one(Partner, doc["partner_id"]).name == "Ledgerly"
    blank = cli("partners", "create", "--name", "  ")
    assert (blank.exit_code, blank.stdout) == (2, "")


def test_partners_list_shows_each_partner_and_its_tenant_count(app, cli):
    made = _json(cli("partners", "create", "--name", "Listed Partner"))
    partner = ApiClient(app.test_client(), made["api_key"])
    for name in ("One Ltd", "Two Ltd"):
        partner.post("partner/tenants", json={"name": name, "currency": "EUR"})
    [row] = [p for p in _json(cli("partners", "list")) if p["id"] == made["partner_id"]]
    assert (row["name"], row["status"], row["tenant_count"]) == ("Listed Partner", "active", 2)


def test_tenants_list_is_a_json_array_of_every_tenant(cli):
    first = _json(cli("tenants", "create", "--name", "Alpha"))["tenant_id"]
    second = _json(cli("tenants", "create", "--name", "Beta", "--plan", "scale"))["tenant_id"]
    listed = {row["id"]: row for row in _json(cli("tenants", "list"))}
    assert listed[first]["name"] == "Alpha"
    assert (listed[second]["name"], listed[second]["plan"]) == ("Beta", "scale")


def test_keys_create_mints_a_scoped_key(app, cli):
    tenant_id = _json(cli("tenants", "create", "--name", "Scoped Co"))["tenant_id"]
    doc = _json(cli("keys", "create", "--tenant", tenant_id, "--scope", "invoices:read"))
    assert (doc["tenant_id"], doc["scopes"]) == (tenant_id, ["invoices:read"])
    assert doc["api_key"].startswith(doc["prefix"])
    api = ApiClient(app.test_client(), doc["api_key"])
    assert api.get("invoices").status_code == 200
    refused = api.post("invoices", json=invoice_body())
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "missing_scope"


def test_keys_create_refuses_unknown_tenant_and_scope(cli, session):
    unknown = cli("keys", "create", "--tenant", "ten_01ARZ3NDEKTSV4RRFFQ69G5FAV")
    assert unknown.exit_code == 1
    assert "no such tenant" in unknown.stderr
    tenant_id = _json(cli("tenants", "create", "--name", "Scope Co"))["tenant_id"]
    bad_scope = cli("keys", "create", "--tenant", tenant_id, "--scope", "root")
    assert bad_scope.exit_code == 1
    assert "Unknown scope 'root'" in bad_scope.stderr
    with tenant_scope(tenant_id):
        assert len(session.scalars(select(ApiKey)).all()) == 1


def _demo_counts(session, tenant_id: str) -> tuple[int, int, int]:
    with tenant_scope(tenant_id):
        return tuple(
            len(session.scalars(select(model)).all())
            for model in (BankAccount, Invoice, Transaction)
        )


def test_demo_seeds_once_and_replaces_its_key_each_time(app, cli, session):
    first = _json(cli("demo"))
    assert (first["created"], first["replaced"]) == (True, [])
    tenant_id = first["tenant_id"]
    assert session.get_one(Tenant, tenant_id).name == "Demo Ltd"
    assert _demo_counts(session, tenant_id) == (1, 12, 13)
    with tenant_scope(tenant_id):
        by_number = {i.number: i for i in session.scalars(select(Invoice))}
        paying = [
            t
            for t in session.scalars(select(Transaction))
            if any(
                number in (t.remittance_information or "") and t.amount == inv.amount_due
                for number, inv in by_number.items()
            )
        ]
    assert len(paying) >= 3

    listed = ApiClient(app.test_client(), first["api_key"]).get("invoices?limit=100")
    assert listed.status_code == 200
    assert len(listed.get_json()["data"]) == 12
    with tenant_scope(tenant_id):
        [first_key] = session.scalars(select(ApiKey)).all()
    # A demo partner owns the demo tenant; its portal link signs a browser in once.
    assert session.get_one(Tenant, tenant_id).partner_id == first["partner_id"]
    browser = app.test_client()
    signed_in = browser.get(urlsplit(first["portal_url"]).path)
    assert signed_in.status_code == 302, signed_in.get_data(as_text=True)
    page = browser.get("/portal").get_data(as_text=True)
    assert "Demo Partner" in page and "Demo Ltd" in page

    result = cli("demo")
    again = _json(result)
    assert (again["tenant_id"], again["created"]) == (tenant_id, False)
    assert again["api_key"] != first["api_key"]
    assert again["replaced"] == [first_key.id]
    assert again["partner_id"] == first["partner_id"]  # one demo partner, a new link
    assert again["portal_url"] != first["portal_url"]
    assert f"Replaced the previous demo key {first_key.id}" in result.stderr
    assert _demo_counts(session, tenant_id) == (1, 12, 13)
    assert session.scalar(select(func.count()).where(Tenant.name == "Demo Ltd")) == 1
    with tenant_scope(tenant_id):
        session.expire_all()
        active = session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None))).all()
    assert len(active) == 1 and active[0].id != first_key.id
    refused = ApiClient(app.test_client(), first["api_key"]).get("invoices")
    assert refused.status_code == 401
    listed = ApiClient(app.test_client(), again["api_key"]).get("invoices?limit=100")
    assert listed.status_code == 200
    assert len(listed.get_json()["data"]) == 12


def test_demo_keeps_keys_the_tenant_made_itself(app, cli, session):
    first = _json(cli("demo"))
    made = ApiClient(app.test_client(), first["api_key"]).post(
        "api_keys", json={"name": "crm sync", "scopes": ["invoices:read"]}
    )
    assert made.status_code == 201, made.get_json()
    again = _json(cli("demo"))
    assert len(again["replaced"]) == 1
    crm = ApiClient(app.test_client(), made.get_json()["secret"])
    assert crm.get("invoices").status_code == 200


def test_worker_without_redis_exits_2_with_a_clear_error(app, settings):
    original = runtime.settings()
    runtime.configure(settings.with_overrides(redis_url=None))
    try:
        result = CliRunner().invoke(main, ["worker", "--burst"])
    finally:
        runtime.configure(original)
    assert result.exit_code == 2
    assert "PAYYMO_REDIS_URL is not set" in result.stderr


def test_jobs_stuck_lists_what_is_stuck_and_jobs_sweep_catches_it_up(app, cli, session, settings):
    tenant_id = _json(cli("tenants", "create", "--name", "Stuck Co"))["tenant_id"]
    with tenant_scope(tenant_id):
        lost = Job(type="reconcile", status="queued", created_at=utcnow() - dt.timedelta(hours=1))
        fresh = Job(type="reconcile", status="queued")
        session.add_all([lost, fresh])
        session.commit()
    listed = {row["id"]: row for row in _json(cli("jobs", "stuck"))}
    assert fresh.id not in listed
    assert (listed[lost.id]["tenant_id"], listed[lost.id]["status"]) == (tenant_id, "queued")
    assert fresh.id in {row["id"] for row in _json(cli("jobs", "stuck", "--older-than", "0"))}
    original = runtime.settings()
    runtime.configure(settings.with_overrides(redis_url=None))  # the sweep runs it right here
    try:
        assert _json(cli("jobs", "sweep"))["redispatched"] >= 1
    finally:
        runtime.configure(original)
    assert lost.id not in {row["id"] for row in _json(cli("jobs", "stuck"))}
    session.expire_all()
    with tenant_scope(tenant_id):
        assert session.get_one(Job, lost.id).status == "succeeded"


# -- the installed console script, as an operator runs it ---------------------------------


def _run(settings, *args: str, **env: str | None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PAYYMO, *args],
        cwd=ROOT,
        env=payymo_env(settings, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_console_script_keeps_logs_off_stdout(app, settings):
    proc = _run(settings, "tenants", "create", "--name", "Process Co", PAYYMO_LOG_LEVEL="DEBUG")
    try:
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert set(doc) == {"tenant_id", "api_key"}
        assert proc.stdout.count("\n") == 1
        with Session(db.engine()) as session:
            assert session.get_one(Tenant, doc["tenant_id"]).name == "Process Co"
    finally:
        with Session(db.engine()) as session:
            session.execute(delete(Tenant).where(Tenant.name == "Process Co"))
            session.commit()


def test_db_upgrade_migrates_a_fresh_database_and_is_repeatable(settings, tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh' / 'payymo.db'}"
    for _ in range(2):
        proc = _run(settings, "db", "upgrade", PAYYMO_DATABASE_URL=url)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout == ""
    engine = create_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"alembic_version", "tenants", "api_keys", "invoices", "transactions"} <= tables


@pytest.mark.postgres
def test_db_upgrade_migrates_as_the_owner_and_grants_the_app_role(settings):
    from tests.conftest import APP_ROLE, PG_URL

    name = "payymo_cli_grant"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    owner_url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    app_url = make_url(owner_url).set(username=APP_ROLE).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    app_engine = create_engine(app_url)
    try:
        proc = _run(
            settings,
            "db",
            "upgrade",
            PAYYMO_MIGRATION_DATABASE_URL=owner_url,
            PAYYMO_DATABASE_URL=app_url,
        )
        assert proc.returncode == 0, proc.stderr
        assert f"granted table access to the app role {APP_ROLE}" in proc.stderr
        with app_engine.connect() as conn:
            # The app role reads and writes the tables, behind their policies, owning none.
            assert conn.execute(text("SELECT count(*) FROM invoices")).scalar_one() == 0
            owned = conn.execute(
                text("SELECT count(*) FROM pg_tables WHERE tableowner = current_user")
            ).scalar_one()
            assert owned == 0
            with pytest.raises(DBAPIError):
                conn.execute(text("UPDATE alembic_version SET version_num = 'x'"))
    finally:
        app_engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def test_production_refuses_to_start_without_secrets(settings):
    proc = _run(
        settings,
        "serve",
        PAYYMO_ENV="production",
        PAYYMO_SECRET_KEY=None,
        PAYYMO_ENCRYPTION_KEY=None,
    )
    assert proc.returncode == 2
    assert "PAYYMO_SECRET_KEY" in proc.stderr
    assert "PAYYMO_ENCRYPTION_KEY" in proc.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "payymo.example"])  # noqa: S104
def test_serve_refuses_the_development_server_on_a_public_host_outside_development(settings, host):
    port = free_port()
    proc = _run(settings, "serve", "--host", host, "--port", str(port), PAYYMO_ENV="test")
    assert proc.returncode == 2, proc.stderr
    assert "refusing to serve Flask's development server" in proc.stderr
    assert f"on {host} with PAYYMO_ENV=test" in proc.stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),  # noqa: S104
        ("::", False),
        ("10.0.0.5", False),
        ("localhost.example", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_wsgi_module_builds_the_app_from_the_environment(app, settings):
    code = "import wsgi; print(wsgi.app.test_client().get('/readyz').status_code)"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=payymo_env(settings),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "200"


def _get(url: str, deadline: float) -> requests.Response:
    while True:
        try:
            return requests.get(url, timeout=2)
        except (requests.ConnectionError, requests.Timeout):
            # gunicorn's master listens before its worker has loaded the app: on a busy
            # machine the first request can wait longer than one timeout.
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@pytest.mark.parametrize(
    ("env", "extra", "server"),
    [("development", [], "Werkzeug"), ("production", ["--workers", "1"], "gunicorn")],
)
def test_serve_answers_readyz(app, settings, env, extra, server):
    port = free_port()
    proc = subprocess.Popen(
        [PAYYMO, "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
        cwd=ROOT,
        env=payymo_env(settings, PAYYMO_ENV=env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        response = _get(f"http://127.0.0.1:{port}/readyz", time.monotonic() + 30)
        assert response.status_code == 200
        assert response.json()["checks"]["database"] == "ok"
        assert server in response.headers.get("Server", "")
    finally:
        terminate(proc)


@pytest.mark.rollups_drift
def test_db_check_rollups_says_ok_or_names_the_drifted_group(app, cli, session, api, tenant):
    api.post("invoices", json=invoice_body())
    assert _json(cli("db", "check-rollups")) == {"ok": True, "differences": []}
    with system_scope():
        session.execute(
            text(
                "INSERT INTO rollups (tenant_id, subject, account_id, currency, month, received,"
                " direction, status, detail, item_count, amount, amount_allocated)"
                " VALUES (:t, 'suggestions', '', '', '', '', '', 'open', '', 5, 0, 0)"
            ),
            {"t": tenant.tenant_id},
        )
    result = cli("db", "check-rollups", "--tenant", tenant.tenant_id)
    assert result.exit_code == 1
    [drift] = json.loads(result.stdout)["differences"]
    assert drift["group"]["subject"] == "suggestions" and drift["group"]["status"] == "open"
    assert (drift["expected"]["item_count"], drift["found"]["item_count"]) == (0, 5)


def test_db_search_indexes_builds_what_is_missing_once(app, cli, settings):
    first = _json(cli("db", "search-indexes"))
    if settings.database_url.startswith("sqlite"):
        assert first["created"] == [] and "SQLite" in first["note"]
        return
    try:
        assert first["created"] == list(search_indexes.INDEXES)
        assert _json(cli("db", "search-indexes"))["created"] == []
    finally:
        owner = create_engine(settings.migration_database_url, isolation_level="AUTOCOMMIT")
        with owner.connect() as conn:
            for statement in search_indexes.drop_statements():
                conn.execute(text(statement))
        owner.dispose()


@pytest.mark.postgres
def test_db_upgrade_without_a_superuser_says_what_it_lacks_and_the_superuser_commands_add_it(
    settings,
):
    role = "payymo_plain_owner"
    with plain_owner_database("payymo_cli_plain", role) as (plain_url, super_url):
        _upgrade_without_a_superuser(settings, role, plain_url, super_url)


def _upgrade_without_a_superuser(settings, role: str, plain_url, super_url) -> None:
    plain = plain_url.render_as_string(hide_password=False)
    # The app as the owner; the superuser commands as a superuser.
    as_superuser = {
        "PAYYMO_MIGRATION_DATABASE_URL": super_url.render_as_string(hide_password=False),
        "PAYYMO_DATABASE_URL": plain,
    }
    # The database's owner may make the (trusted) extension, not the BYPASSRLS role.
    proc = _run(
        settings,
        "db",
        "upgrade",
        PAYYMO_MIGRATION_DATABASE_URL=plain,
        PAYYMO_DATABASE_URL=plain,
    )
    assert proc.returncode == 0, proc.stderr
    assert "the search functions could not be created" in proc.stderr
    assert "payymo db search-indexes" in proc.stderr
    # Nor the system role: the policies keep their payymo.system branch.
    assert "the system role could not be set up" in proc.stderr
    assert "payymo db system-role" in proc.stderr
    engine = create_engine(super_url)
    # One pooled connection throughout: it switches once the role serves.
    app_engine = create_engine(plain_url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            assert policies.condition_in_use(conn) == policies.WITH_SYSTEM_SETTING
            assert search_indexes.missing(conn) == list(search_indexes.INDEXES)
            assert search_indexes.functions_missing(conn) == [
                *(s.function for s in search_indexes.SEARCHES),
                search_names.FUNCTION,
            ]
        fixed = _run(settings, "db", "search-indexes", **as_superuser)
        assert fixed.returncode == 0, fixed.stderr
        assert json.loads(fixed.stdout)["created"] == [
            *search_indexes.INDEXES,
            *(s.function for s in search_indexes.SEARCHES),
            search_names.FUNCTION,
        ]
        with engine.connect() as conn:
            assert search_indexes.functions_missing(conn) == []
        # The app (the owner here) finds a tenant's key in the system scope, by the
        # setting first, then as the system role.
        made = _run(settings, "tenants", "create", "--name", "Plain", PAYYMO_DATABASE_URL=plain)
        assert made.returncode == 0, made.stderr
        assert _keys_seen_by_the_system_scope(app_engine) == (1, role)
        switched = _run(settings, "db", "system-role", **as_superuser)
        assert switched.returncode == 0, switched.stderr
        assert json.loads(switched.stdout)["member"] == role
        with engine.connect() as conn:
            assert policies.condition_in_use(conn) == policies.CONDITION
        assert _keys_seen_by_the_system_scope(app_engine) == (1, policies.SYSTEM_ROLE)
    finally:
        app_engine.dispose()
        engine.dispose()


def _keys_seen_by_the_system_scope(engine) -> tuple[int, str]:
    """How many API keys the system scope sees through ``engine``, and as which role."""
    with Session(engine) as session, system_scope():
        keys = session.scalar(select(func.count()).select_from(ApiKey))
        return keys, session.execute(text("SELECT current_user")).scalar_one()


def test_import_reads_a_statement_file_into_the_account_and_sums_it_up(app, cli, api, tmp_path):
    account = api.post("bank_accounts", json={"name": "Statements", "currency": "EUR"}).json["id"]
    sample = Path(__file__).parent / "statements" / "samples" / "camt053_v02.xml"
    first = cli("import", str(sample), "--account", account)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert (summary["format"], summary["counts"]) == (
        "camt.053",
        {"created": 5, "duplicate": 0, "error": 0},
    )
    assert summary["closing_balance"]["amount"] == 273_966 and summary["warnings"] == []
    assert "5 lines, 5 created, 0 duplicate, 0 failed" in first.stderr
    assert "writing camt053_v02.xml" in first.stderr  # the progress bar's label
    listed = api.get(f"transactions?account_id={account}&limit=100").json["data"]
    assert sorted(t["provider_id"] for t in listed)[0] == "2024030400001"
    again = json.loads(cli("import", str(sample), "--account", account).stdout)
    assert again["counts"] == {"created": 0, "duplicate": 5, "error": 0}
    csv = tmp_path / "bank.csv"
    csv.write_text("Valuta;Umsatz\n01.03.2024;1.234,50\n02.03.2024;kaputt\n", encoding="utf-8")
    mapping = '{"date": "Valuta", "amount": "Umsatz", "date_format": "%d.%m.%Y", "decimal": ","}'
    mapped = cli("import", str(csv), "--account", account, "--mapping", mapping)
    body = json.loads(mapped.stdout)
    assert body["counts"] == {"created": 1, "duplicate": 0, "error": 1}
    assert body["errors"][0]["param"] == "lines[1]" and "line 3" in body["errors"][0]["message"]


def test_import_refuses_an_unknown_account_and_a_bad_mapping(cli, tmp_path):
    csv = tmp_path / "bank.csv"
    csv.write_text("Date,Description,Amount\n04/03/2024,x,1.00\n", encoding="utf-8")
    missing = cli("import", str(csv), "--account", "ba_01M8HB6D5GC56SZ57YDCT4XGFY")
    assert missing.exit_code == 1 and "No bank account" in missing.output
    bad = cli("import", str(csv), "--account", "ba_x", "--mapping", "{oops")
    assert bad.exit_code == 2 and "--mapping" in bad.output
