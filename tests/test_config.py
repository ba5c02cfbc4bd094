"""Settings from PAYYMO_* environment variables, with an embedded default."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.fernet import Fernet

from payymo.config import DEFAULT_PLAN_RATE_LIMITS, ConfigError, load_settings

PG = "postgresql+psycopg://payymo@db.internal/payymo"


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


def test_embedded_default_needs_nothing(instance):
    settings = load_settings({"PAYYMO_INSTANCE_PATH": str(instance)})
    assert settings.env == "development"
    assert settings.database_url == f"sqlite:///{instance / 'payymo.db'}"
    assert settings.redis_url is None
    assert settings.embedded
    assert settings.plan_rate_limits == DEFAULT_PLAN_RATE_LIMITS
    assert settings.log_level == "INFO"


def test_development_secrets_are_generated_once_into_the_instance_folder(instance):
    first = load_settings({"PAYYMO_INSTANCE_PATH": str(instance)})
    second = load_settings({"PAYYMO_INSTANCE_PATH": str(instance)})
    assert (first.secret_key, first.encryption_key) == (second.secret_key, second.encryption_key)
    assert len(first.secret_key) >= 32
    Fernet(first.encryption_key.encode())  # a usable key, not just any string
    for name in ("secret_key", "encryption_key"):
        path = instance / name
        assert path.read_text() == getattr(first, name)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_secrets_from_the_environment_win_and_nothing_is_written(instance):
    key = Fernet.generate_key().decode()
    settings = load_settings(
        {
            "PAYYMO_INSTANCE_PATH": str(instance),
            "PAYYMO_SECRET_KEY": "from-env",
            "PAYYMO_ENCRYPTION_KEY": key,
        }
    )
    assert (settings.secret_key, settings.encryption_key) == ("from-env", key)
    assert not (instance / "secret_key").exists()
    assert not (instance / "encryption_key").exists()


def test_instance_path_is_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({"PAYYMO_INSTANCE_PATH": "var/payymo"})
    assert settings.instance_path == tmp_path / "var" / "payymo"
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'payymo' / 'payymo.db'}"


def test_reads_os_environ_by_default(instance, monkeypatch):
    monkeypatch.setenv("PAYYMO_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("PAYYMO_ENV", "test")
    monkeypatch.setenv("PAYYMO_DATABASE_URL", PG)
    monkeypatch.setenv("PAYYMO_REDIS_URL", "redis://cache:6379/2")
    settings = load_settings()
    assert (settings.env, settings.database_url) == ("test", PG)
    assert settings.redis_url == "redis://cache:6379/2"
    assert not settings.embedded


def test_empty_redis_url_means_embedded(instance):
    settings = load_settings({"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_REDIS_URL": ""})
    assert settings.redis_url is None
    assert settings.embedded


def test_unknown_environment_is_refused(instance):
    with pytest.raises(ConfigError, match="PAYYMO_ENV"):
        load_settings({"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_ENV": "staging"})


def test_production_refuses_to_start_without_its_secrets_and_database(instance):
    with pytest.raises(ConfigError) as exc:
        load_settings({"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_ENV": "production"})
    message = str(exc.value)
    for name in ("PAYYMO_SECRET_KEY", "PAYYMO_ENCRYPTION_KEY", "PAYYMO_DATABASE_URL"):
        assert name in message
    assert not instance.exists()  # nothing generated for production


def test_production_names_only_what_is_missing(instance):
    with pytest.raises(ConfigError) as exc:
        load_settings(
            {
                "PAYYMO_INSTANCE_PATH": str(instance),
                "PAYYMO_ENV": "production",
                "PAYYMO_SECRET_KEY": "s" * 48,
                "PAYYMO_DATABASE_URL": PG,
            }
        )
    assert "PAYYMO_ENCRYPTION_KEY" in str(exc.value)
    assert "PAYYMO_SECRET_KEY" not in str(exc.value)
    assert "PAYYMO_DATABASE_URL" not in str(exc.value)


def test_production_with_everything_set(instance):
    key = Fernet.generate_key().decode()
    settings = load_settings(
        {
            "PAYYMO_INSTANCE_PATH": str(instance),
            "PAYYMO_ENV": "production",
            "PAYYMO_SECRET_KEY": "s" * 48,
            "PAYYMO_ENCRYPTION_KEY": key,
            "PAYYMO_DATABASE_URL": PG,
            "PAYYMO_REDIS_URL": "redis://cache:6379/0",
        }
    )
    assert (settings.env, settings.database_url, settings.encryption_key) == (
        "production",
        PG,
        key,
    )


def test_malformed_encryption_key_is_refused(instance):
    with pytest.raises(ConfigError, match="PAYYMO_ENCRYPTION_KEY"):
        load_settings(
            {"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_ENCRYPTION_KEY": "not-a-fernet-key"}
        )


def test_plan_rate_limits_merge_over_the_defaults(instance):
    settings = load_settings(
        {
            "PAYYMO_INSTANCE_PATH": str(instance),
            "PAYYMO_PLAN_RATE_LIMITS": '{"free": 30, "enterprise": "20000"}',
        }
    )
    assert settings.plan_rate_limits == {
        **DEFAULT_PLAN_RATE_LIMITS,
        "free": 30,
        "enterprise": 20000,
    }


@pytest.mark.parametrize("raw", ["{free: 1}", "[1, 2]", '{"free": "lots"}'])
def test_malformed_plan_rate_limits_are_refused(instance, raw):
    with pytest.raises(ConfigError, match="PAYYMO_PLAN_RATE_LIMITS"):
        load_settings({"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_PLAN_RATE_LIMITS": raw})


def test_log_level_is_normalised(instance):
    settings = load_settings({"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_LOG_LEVEL": "debug"})
    assert settings.log_level == "DEBUG"


def test_reconcile_processes_default_to_the_cores_and_can_be_set(instance):
    settings = load_settings({"PAYYMO_INSTANCE_PATH": str(instance)})
    assert settings.reconcile_processes == max(1, min(4, os.cpu_count() or 1))
    settings = load_settings(
        {"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_RECONCILE_PROCESSES": "3"}
    )
    assert settings.reconcile_processes == 3


def test_reconcile_parallel_min_has_a_default_and_can_be_set(instance):
    settings = load_settings({"PAYYMO_INSTANCE_PATH": str(instance)})
    assert settings.reconcile_parallel_min == 20_000
    settings = load_settings(
        {"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_RECONCILE_PARALLEL_MIN": "500"}
    )
    assert settings.reconcile_parallel_min == 500
    with pytest.raises(ConfigError, match="PAYYMO_RECONCILE_PARALLEL_MIN"):
        load_settings(
            {"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_RECONCILE_PARALLEL_MIN": "-1"}
        )


def test_reconcile_chunk_size_has_a_default_and_can_be_set(instance):
    settings = load_settings({"PAYYMO_INSTANCE_PATH": str(instance)})
    assert settings.reconcile_chunk_size == 1_000
    settings = load_settings(
        {"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_RECONCILE_CHUNK_SIZE": "250"}
    )
    assert settings.reconcile_chunk_size == 250
    for raw in ("0", "100001", "many"):
        with pytest.raises(ConfigError, match="PAYYMO_RECONCILE_CHUNK_SIZE"):
            load_settings(
                {"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_RECONCILE_CHUNK_SIZE": raw}
            )


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5", "65"])
def test_bad_reconcile_processes_are_refused(instance, raw):
    with pytest.raises(ConfigError, match="PAYYMO_RECONCILE_PROCESSES"):
        load_settings({"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_RECONCILE_PROCESSES": raw})


def test_sweep_interval_has_a_default_and_can_be_set(instance):
    assert load_settings({"PAYYMO_INSTANCE_PATH": str(instance)}).sweep_interval_seconds == 60
    settings = load_settings({"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_SWEEP_INTERVAL": "5"})
    assert settings.sweep_interval_seconds == 5


@pytest.mark.parametrize("raw", ["0", "-1", "1.5", "soon", "86401"])
def test_bad_sweep_intervals_are_refused(instance, raw):
    with pytest.raises(ConfigError, match="PAYYMO_SWEEP_INTERVAL"):
        load_settings({"PAYYMO_INSTANCE_PATH": str(instance), "PAYYMO_SWEEP_INTERVAL": raw})


def test_with_overrides_copies(instance):
    settings = load_settings({"PAYYMO_INSTANCE_PATH": str(instance)})
    other = settings.with_overrides(redis_url="redis://127.0.0.1:6379/0")
    assert not other.embedded
    assert settings.embedded
    assert other.database_url == settings.database_url


def test_redis_timeouts_limits_and_key_cap_have_defaults(instance):
    settings = load_settings({"PAYYMO_INSTANCE_PATH": str(instance)})
    assert settings.bad_key_rate_limit == 30
    assert settings.max_api_keys_per_tenant == 50
    assert 0 < settings.redis_connect_timeout <= 0.3
    assert 0 < settings.redis_socket_timeout <= 0.3
    assert settings.redis_breaker_seconds == 5


def test_redis_timeouts_limits_and_key_cap_from_the_environment(instance):
    settings = load_settings(
        {
            "PAYYMO_INSTANCE_PATH": str(instance),
            "PAYYMO_BAD_KEY_RATE_LIMIT": "7",
            "PAYYMO_MAX_API_KEYS_PER_TENANT": "3",
            "PAYYMO_REDIS_CONNECT_TIMEOUT": "0.1",
            "PAYYMO_REDIS_SOCKET_TIMEOUT": "0.5",
            "PAYYMO_REDIS_BREAKER_SECONDS": "2.5",
        }
    )
    assert settings.bad_key_rate_limit == 7
    assert settings.max_api_keys_per_tenant == 3
    assert (settings.redis_connect_timeout, settings.redis_socket_timeout) == (0.1, 0.5)
    assert settings.redis_breaker_seconds == 2.5


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PAYYMO_BAD_KEY_RATE_LIMIT", "0"),
        ("PAYYMO_MAX_API_KEYS_PER_TENANT", "many"),
        ("PAYYMO_REDIS_SOCKET_TIMEOUT", "0"),
        ("PAYYMO_REDIS_CONNECT_TIMEOUT", "nan"),
        ("PAYYMO_REDIS_BREAKER_SECONDS", "-1"),
    ],
)
def test_bad_redis_and_limit_settings_are_refused(instance, name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({"PAYYMO_INSTANCE_PATH": str(instance), name: value})
