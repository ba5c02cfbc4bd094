"""Alembic: one head, and the migrated schema is exactly what the models declare."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

import payymo.models  # noqa: F401 (registers every table)
from payymo import db, migrate
from tests.helpers import plain_owner_database


def _diff(conn) -> list:
    opts = {"compare_type": True, "include_object": migrate.include_object}
    context = MigrationContext.configure(conn, opts=opts)
    return compare_metadata(context, db.Base.metadata)


def test_exactly_one_head(settings):
    script = ScriptDirectory.from_config(migrate.alembic_config(settings.database_url))
    heads = script.get_heads()
    assert len(heads) == 1, f"several Alembic heads, merge them: {heads}"


def test_every_revision_chains_back_to_the_base(settings):
    script = ScriptDirectory.from_config(migrate.alembic_config(settings.database_url))
    revisions = list(script.walk_revisions())
    bases = [r for r in revisions if r.down_revision is None]
    assert len(bases) == 1
    assert revisions, "no migrations found"


def test_models_and_migrations_agree(app):
    with db.engine().connect() as conn:
        diff = _diff(conn)
    assert diff == [], f"models and migrations differ; write a migration for: {diff}"


def test_migrations_build_the_embedded_default_from_scratch(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    migrate.upgrade(url)
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            diff = _diff(conn)
    finally:
        engine.dispose()
    script = ScriptDirectory.from_config(migrate.alembic_config(url))
    assert current == script.get_current_head()
    assert diff == [], f"models and migrations differ on SQLite: {diff}"


def test_the_charge_columns_come_and_go_without_losing_the_sqlite_triggers(tmp_path):
    # 0008 adds its columns in place: a batch copy of invoices would drop the change_seq
    # triggers of 0007 (and cascade the drop of the old table to its allocations).
    url = f"sqlite:///{tmp_path / 'charges.db'}"
    config = migrate.alembic_config(url)
    migrate.upgrade(url)
    command.downgrade(config, "0007")
    engine = db.make_engine(url)
    try:
        with engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("invoices")}
            assert "amount_charged" not in columns
        migrate.upgrade(url)
        with engine.connect() as conn:
            triggers = set(
                conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            )
            assert {"invoices_change_seq_insert", "invoices_change_seq_update"} <= triggers
            assert "charge" in {c["name"] for c in inspect(conn).get_columns("allocations")}
            assert _diff(conn) == []
    finally:
        engine.dispose()


def test_partner_webhooks_copy_deliveries_on_sqlite_without_losing_their_attempts(tmp_path):
    # 0018 makes endpoint_id nullable, which SQLite does by copying the table: the old
    # copy's drop must not cascade to the attempts, and the due index keeps its WHERE.
    url = f"sqlite:///{tmp_path / 'deliveries.db'}"
    migrate.upgrade(url, "0017")
    engine = db.make_engine(url)
    rows = [
        "INSERT INTO tenants (id, name, status, plan, default_currency, settings, created_at,"
        " updated_at) VALUES ('ten_1', 'T', 'active', 'standard', 'EUR', '{}', :at, :at)",
        "INSERT INTO events (id, tenant_id, type, data, created_at)"
        " VALUES ('evt_1', 'ten_1', 'webhook.test', '{}', :at)",
        "INSERT INTO webhook_endpoints (id, tenant_id, url, event_types, enabled, secret,"
        " created_at, updated_at) VALUES ('we_1', 'ten_1', 'http://x', '[]', 1, 's', :at, :at)",
        "INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, status, attempts,"
        " schedule_step, created_at, updated_at) VALUES ('del_1', 'ten_1', 'we_1', 'evt_1',"
        " 'delivered', 1, 0, :at, :at)",
        "INSERT INTO webhook_attempts (id, tenant_id, delivery_id, number, attempted_at,"
        " duration_ms) VALUES ('watt_1', 'ten_1', 'del_1', 1, :at, 12)",
    ]
    try:
        with engine.begin() as conn:
            for row in rows:
                conn.execute(text(row), {"at": "2026-11-29 08:00:00.000000"})
        migrate.upgrade(url)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM webhook_attempts")) == 1
            assert conn.scalar(text("SELECT endpoint_id FROM webhook_deliveries")) == "we_1"
            due = conn.scalar(
                text("SELECT sql FROM sqlite_master WHERE name = 'ix_webhook_deliveries_due'")
            )
            assert "WHERE status = 'pending'" in due
            assert _diff(conn) == []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_0032_fills_the_names_from_every_tenants_lines_as_a_plain_owner(settings):
    # The owner is behind the forced policy too: the copy must still read every line.
    with plain_owner_database("payymo_names_copy", "payymo_names_owner") as (owner_url, super_url):
        _fill_names_as_the_owner(owner_url, super_url)


def _fill_names_as_the_owner(owner_url, super_url) -> None:
    owner_url_text = owner_url.render_as_string(hide_password=False)
    superuser = create_engine(super_url)
    owner = create_engine(owner_url)
    try:
        migrate.upgrade(owner_url_text, "0031")
        now = dt.datetime(2026, 11, 30, 8, tzinfo=dt.UTC)
        for tenant, names in (("ten_a", ["Acme", "Acme", "Bolt", None]), ("ten_b", ["Cobalt"])):
            ids = {"t": tenant, "a": f"ba_{tenant}", "now": now}
            with owner.begin() as conn:
                conn.execute(text("SELECT set_config('payymo.tenant_id', :t, true)"), ids)
                conn.execute(
                    text(
                        "INSERT INTO tenants (id, name, status, plan, default_currency, settings,"
                        " created_at, updated_at)"
                        " VALUES (:t, :t, 'active', 'free', 'EUR', '{}', :now, :now)"
                    ),
                    ids,
                )
                conn.execute(
                    text(
                        "INSERT INTO bank_accounts (id, tenant_id, kind, name, currency,"
                        " created_at, updated_at) VALUES (:a, :t, 'manual', 'A', 'EUR', :now, :now)"
                    ),
                    ids,
                )
                conn.execute(
                    text(
                        "INSERT INTO transactions (id, tenant_id, account_id, dedupe_key, status,"
                        " amount, currency, match_status, counterparty_name, created_at,"
                        " updated_at) VALUES (:id, :t, :a, :id, 'booked', 100, 'EUR',"
                        " 'unmatched', :payer, :now, :now)"
                    ),
                    [{**ids, "id": f"txn_{tenant}_{n}", "payer": p} for n, p in enumerate(names)],
                )
        migrate.upgrade(owner_url_text)
        with superuser.connect() as conn:
            kept = conn.execute(
                text("SELECT tenant_id, name FROM counterparty_names ORDER BY 1, 2")
            ).all()
            forced = conn.execute(
                text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'transactions'")
            ).scalar()
        assert [tuple(row) for row in kept] == [
            ("ten_a", "Acme"),
            ("ten_a", "Bolt"),
            ("ten_b", "Cobalt"),
        ]
        assert forced is True
    finally:
        owner.dispose()
        superuser.dispose()


@pytest.mark.postgres
def test_0034_counts_each_name_keys_customers_from_every_tenants_look_ups(settings):
    with plain_owner_database("payymo_name_customers", "payymo_name_owner") as urls:
        _count_name_customers_as_the_owner(*urls)


def _count_name_customers_as_the_owner(owner_url, super_url) -> None:
    superuser = create_engine(super_url)
    owner = create_engine(owner_url)
    # Two invoices of one customer and one of another share a name word; credits'
    # keys and invoices' other keys are not names' customers.
    rows = {
        "ten_a": [
            ("i", "inv_1", "k:acme", ["n:EUR:acme gmbh", "w:EUR:acme", "r:EUR:inv1"]),
            ("i", "inv_2", "k:acme", ["n:EUR:acme gmbh", "w:EUR:acme"]),
            ("i", "inv_3", "k:acme tools", ["n:EUR:acme tools", "w:EUR:acme"]),
            ("t", "txn_1", "", ["n:EUR:acme gmbh"]),
        ],
        "ten_b": [("i", "inv_4", "k:bolt", ["n:EUR:bolt"])],
    }
    try:
        migrate.upgrade(owner_url.render_as_string(hide_password=False), "0033")
        now = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
        for tenant, items in rows.items():
            with owner.begin() as conn:
                conn.execute(text("SELECT set_config('payymo.tenant_id', :t, true)"), {"t": tenant})
                conn.execute(
                    text(
                        "INSERT INTO tenants (id, name, status, plan, default_currency, settings,"
                        " created_at, updated_at)"
                        " VALUES (:t, :t, 'active', 'free', 'EUR', '{}', :now, :now)"
                    ),
                    {"t": tenant, "now": now},
                )
                for side, object_id, customer, keys in items:
                    item = {"t": tenant, "s": side, "o": object_id, "c": customer}
                    conn.execute(
                        text(
                            "INSERT INTO reconcile_items (tenant_id, side, object_id, currency,"
                            " open_amount, customer) VALUES (:t, :s, :o, 'EUR', 100, :c)"
                        ),
                        item,
                    )
                    conn.execute(
                        text(
                            "INSERT INTO reconcile_keys (tenant_id, side, object_id, key)"
                            " VALUES (:t, :s, :o, :k)"
                        ),
                        [{**item, "k": key} for key in keys],
                    )
        migrate.upgrade(owner_url.render_as_string(hide_password=False))
        with superuser.connect() as conn:
            kept = conn.execute(
                text("SELECT tenant_id, key, customer, invoices FROM reconcile_name_customers")
            ).all()
            forced = conn.execute(
                text(
                    "SELECT relname, relforcerowsecurity FROM pg_class WHERE relname IN"
                    " ('reconcile_keys', 'reconcile_items', 'reconcile_name_customers')"
                )
            ).all()
        assert sorted(map(tuple, kept)) == [
            ("ten_a", "n:EUR:acme gmbh", "k:acme", 2),
            ("ten_a", "n:EUR:acme tools", "k:acme tools", 1),
            ("ten_a", "w:EUR:acme", "k:acme", 2),
            ("ten_a", "w:EUR:acme", "k:acme tools", 1),
            ("ten_b", "n:EUR:bolt", "k:bolt", 1),
        ]
        assert dict(forced) == dict.fromkeys(
            ("reconcile_keys", "reconcile_items", "reconcile_name_customers"), True
        )
    finally:
        owner.dispose()
        superuser.dispose()
