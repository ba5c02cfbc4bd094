"""Settings from PAYYMO_* environment variables, with an embedded default."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path

from cryptography.fernet import Fernet

ENVIRONMENTS = ("development", "test", "production")
DEFAULT_PLAN_RATE_LIMITS = {"free": 120, "standard": 600, "scale": 6000}
DEFAULT_RECONCILE_PARALLEL_MIN = 20_000  # below this, starting processes costs more than it saves
DEFAULT_SWEEP_INTERVAL = 60  # seconds between job sweeps (payymo worker, embedded serve)


def default_reconcile_processes() -> int:
    """Engine processes a large multi-currency reconcile run may use: the cores, at most 4."""
    return max(1, min(4, os.cpu_count() or 1))


class ConfigError(RuntimeError):
    """Raised when the environment cannot produce a safe configuration."""


@dataclass(frozen=True)
class Settings:
    """Everything the app, the CLI and the workers need to start."""

    env: str
    database_url: str
    redis_url: str | None
    secret_key: str
    encryption_key: str
    instance_path: Path
    plan_rate_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PLAN_RATE_LIMITS))
    rate_limit_window_seconds: int = 60
    idempotency_ttl_seconds: int = 24 * 3600
    log_level: str = "INFO"
    reconcile_processes: int = field(default_factory=default_reconcile_processes)
    reconcile_parallel_min: int = DEFAULT_RECONCILE_PARALLEL_MIN
    sweep_interval_seconds: int = DEFAULT_SWEEP_INTERVAL

    @property
    def embedded(self) -> bool:
        """True when jobs run in-process (no Redis configured)."""
        return not self.redis_url

    def with_overrides(self, **overrides) -> Settings:
        """A copy with some fields replaced (tests, CLI flags)."""
        return replace(self, **overrides)


def _instance_secret(instance: Path, name: str, make) -> str:
    path = instance / name
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    value = make()
    # Created 0600 so the generated development secret is not world-readable.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
    return value


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read settings from the environment; refuse unsafe production settings."""
    env_vars = os.environ if environ is None else environ
    env = env_vars.get("PAYYMO_ENV", "development")
    if env not in ENVIRONMENTS:
        raise ConfigError(f"PAYYMO_ENV must be one of {', '.join(ENVIRONMENTS)}")
    instance = Path(env_vars.get("PAYYMO_INSTANCE_PATH", Path.cwd() / "instance")).resolve()
    database_url = env_vars.get("PAYYMO_DATABASE_URL") or f"sqlite:///{instance / 'payymo.db'}"
    secret_key = env_vars.get("PAYYMO_SECRET_KEY")
    encryption_key = env_vars.get("PAYYMO_ENCRYPTION_KEY")
    if env == "production":
        missing = [
            name
            for name, value in (
                ("PAYYMO_SECRET_KEY", secret_key),
                ("PAYYMO_ENCRYPTION_KEY", encryption_key),
                ("PAYYMO_DATABASE_URL", env_vars.get("PAYYMO_DATABASE_URL")),
            )
            if not value
        ]
        if missing:
            raise ConfigError(f"production requires {', '.join(missing)}")
    secret_key = secret_key or _instance_secret(
        instance, "secret_key", lambda: secrets.token_urlsafe(48)
    )
    encryption_key = encryption_key or _instance_secret(
        instance, "encryption_key", lambda: Fernet.generate_key().decode()
    )
    try:
        Fernet(encryption_key.encode())
    except ValueError as exc:
        raise ConfigError("PAYYMO_ENCRYPTION_KEY must be a urlsafe base64 32-byte key") from exc
    limits = dict(DEFAULT_PLAN_RATE_LIMITS)
    if raw := env_vars.get("PAYYMO_PLAN_RATE_LIMITS"):
        try:
            extra = json.loads(raw)
            limits.update({str(k): int(v) for k, v in extra.items()})
        except (ValueError, AttributeError, TypeError) as exc:
            raise ConfigError('PAYYMO_PLAN_RATE_LIMITS must be JSON like {"free": 120}') from exc
    processes = env_vars.get("PAYYMO_RECONCILE_PROCESSES") or str(default_reconcile_processes())
    if not processes.isdigit() or not 1 <= int(processes) <= 64:
        raise ConfigError("PAYYMO_RECONCILE_PROCESSES must be a whole number from 1 to 64")
    parallel_min = env_vars.get("PAYYMO_RECONCILE_PARALLEL_MIN") or str(
        DEFAULT_RECONCILE_PARALLEL_MIN
    )
    if not parallel_min.isdigit():
        raise ConfigError("PAYYMO_RECONCILE_PARALLEL_MIN must be a whole number")
    sweep_interval = env_vars.get("PAYYMO_SWEEP_INTERVAL") or str(DEFAULT_SWEEP_INTERVAL)
    if not sweep_interval.isdigit() or not 1 <= int(sweep_interval) <= 86_400:
        raise ConfigError("PAYYMO_SWEEP_INTERVAL must be a whole number of seconds, 1 to 86400")
    return Settings(
        env=env,
        database_url=database_url,
        redis_url=env_vars.get("PAYYMO_REDIS_URL") or None,
        secret_key=secret_key,
        encryption_key=encryption_key,
        instance_path=instance,
        plan_rate_limits=limits,
        log_level=env_vars.get("PAYYMO_LOG_LEVEL", "INFO").upper(),
        reconcile_processes=int(processes),
        reconcile_parallel_min=int(parallel_min),
        sweep_interval_seconds=int(sweep_interval),
    )
