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
DEFAULT_RECONCILE_CHUNK_SIZE = 1_000
DEFAULT_BAD_KEY_RATE_LIMIT = 30
DEFAULT_MAX_API_KEYS_PER_TENANT = 50
# Short, so a slow or black-holed Redis costs a request a fraction of a second at most.
DEFAULT_REDIS_CONNECT_TIMEOUT = 0.2
DEFAULT_REDIS_SOCKET_TIMEOUT = 0.25
DEFAULT_REDIS_BREAKER_SECONDS = 5.0
DEFAULT_DB_STATEMENT_TIMEOUT_MS = 30_000
DEFAULT_DB_LOCK_TIMEOUT_MS = 5_000
DEFAULT_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
DEFAULT_SWEEP_INTERVAL = 60  # seconds between job sweeps (payymo worker, embedded serve)
DEFAULT_WEBHOOK_TIMEOUT = 10.0  # seconds an attempt may take, connection to last byte read
DEFAULT_WEBHOOK_CONCURRENCY = 32  # deliveries in flight per dispatcher
DEFAULT_WEBHOOK_POLL_INTERVAL = 0.2  # seconds between dispatcher looks when nothing woke it


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
    # The schema owner's URL for ``payymo db upgrade``; the app itself connects with
    # database_url, as a role that owns nothing, so row-level security applies to it.
    migration_database_url: str | None = None
    db_statement_timeout_ms: int = DEFAULT_DB_STATEMENT_TIMEOUT_MS
    db_lock_timeout_ms: int = DEFAULT_DB_LOCK_TIMEOUT_MS
    db_idle_in_transaction_timeout_ms: int = DEFAULT_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS
    plan_rate_limits: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PLAN_RATE_LIMITS))
    rate_limit_window_seconds: int = 60
    bad_key_rate_limit: int = DEFAULT_BAD_KEY_RATE_LIMIT
    max_api_keys_per_tenant: int = DEFAULT_MAX_API_KEYS_PER_TENANT
    redis_connect_timeout: float = DEFAULT_REDIS_CONNECT_TIMEOUT
    redis_socket_timeout: float = DEFAULT_REDIS_SOCKET_TIMEOUT
    redis_breaker_seconds: float = DEFAULT_REDIS_BREAKER_SECONDS
    idempotency_ttl_seconds: int = 24 * 3600
    log_level: str = "INFO"
    reconcile_processes: int = field(default_factory=default_reconcile_processes)
    reconcile_parallel_min: int = DEFAULT_RECONCILE_PARALLEL_MIN
    reconcile_chunk_size: int = DEFAULT_RECONCILE_CHUNK_SIZE
    sweep_interval_seconds: int = DEFAULT_SWEEP_INTERVAL
    # Embedded default only: run in-process jobs on the caller's thread (a request's once
    # its response is written) instead of the background thread. For scripts and tests
    # that must see a job's effect when the call returns.
    inline_jobs: bool = False
    # The bank-data provider new connections use (a package under integrations/), and
    # each provider's PAYYMO_<NAME>_* settings: base URL and platform credentials.
    bank_provider: str = "gocardless"
    provider_env: dict[str, str] = field(default_factory=dict)
    # Successful account calls per account per scope per 24 h (GoCardless allows 4).
    bank_sync_daily_budget: int = 4
    # Outbound webhooks: https only in production; outside it http and non-public
    # addresses (a receiver on this machine) are allowed. PAYYMO_WEBHOOK_ALLOWED_TARGETS
    # names hosts or networks reachable even when they are not public.
    webhook_allow_http: bool = True
    webhook_allow_private: bool = True
    webhook_allowed_targets: tuple[str, ...] = ()
    webhook_timeout_seconds: float = DEFAULT_WEBHOOK_TIMEOUT
    webhook_concurrency: int = DEFAULT_WEBHOOK_CONCURRENCY
    webhook_poll_interval: float = DEFAULT_WEBHOOK_POLL_INTERVAL
    # Where the Stripe adapter sends its calls (None: Stripe's own API).
    stripe_api_base: str | None = None
    # Days an offboarded tenant's data is kept before the purge deletes it.
    offboard_retention_days: int = 30
    # Events (and their webhook deliveries) and audit rows older than these are purged.
    event_retention_days: int = 90
    audit_retention_days: int = 400

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


def _whole_number(
    env_vars, name: str, default: int, *, minimum: int = 1, maximum: int | None = None
) -> int:
    raw = env_vars.get(name) or str(default)
    # isascii: str.isdigit also accepts digits such as "²" that int() refuses.
    value = int(raw) if raw.isascii() and raw.isdigit() else None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        upto = f" and at most {maximum}" if maximum is not None else ""
        raise ConfigError(f"{name} must be a whole number of at least {minimum}{upto}")
    return value


def _seconds(env_vars, name: str, default: float, *, maximum: float) -> float:
    raw = env_vars.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= maximum:
        raise ConfigError(f"{name} must be a number of seconds above 0 and at most {maximum:g}")
    return value


def _allowed_targets(raw: str | None) -> tuple[str, ...]:
    """Host names and networks (CIDR) from a comma-separated list, each checked."""
    import ipaddress

    items = tuple(item.strip().lower() for item in (raw or "").split(",") if item.strip())
    for item in items:
        if "/" in item or item.replace(".", "").isdigit() or ":" in item:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ConfigError(
                    f"PAYYMO_WEBHOOK_ALLOWED_TARGETS: {item!r} is not a host name or network"
                ) from None
    return items


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
    production = env == "production"
    return Settings(
        webhook_allow_http=not production,
        webhook_allow_private=not production,
        webhook_allowed_targets=_allowed_targets(env_vars.get("PAYYMO_WEBHOOK_ALLOWED_TARGETS")),
        webhook_timeout_seconds=_seconds(
            env_vars, "PAYYMO_WEBHOOK_TIMEOUT", DEFAULT_WEBHOOK_TIMEOUT, maximum=10
        ),
        webhook_concurrency=_whole_number(
            env_vars, "PAYYMO_WEBHOOK_CONCURRENCY", DEFAULT_WEBHOOK_CONCURRENCY, maximum=256
        ),
        webhook_poll_interval=_seconds(
            env_vars, "PAYYMO_WEBHOOK_POLL_INTERVAL", DEFAULT_WEBHOOK_POLL_INTERVAL, maximum=60
        ),
        stripe_api_base=env_vars.get("PAYYMO_STRIPE_API_BASE") or None,
        offboard_retention_days=_whole_number(
            env_vars, "PAYYMO_OFFBOARD_RETENTION_DAYS", 30, minimum=0
        ),
        event_retention_days=_whole_number(env_vars, "PAYYMO_EVENT_RETENTION_DAYS", 90, minimum=1),
        audit_retention_days=_whole_number(env_vars, "PAYYMO_AUDIT_RETENTION_DAYS", 400, minimum=1),
        bank_provider=env_vars.get("PAYYMO_BANK_PROVIDER", "gocardless"),
        provider_env={k: v for k, v in env_vars.items() if k.startswith("PAYYMO_") and v},
        bank_sync_daily_budget=_whole_number(env_vars, "PAYYMO_BANK_SYNC_DAILY_BUDGET", 4),
        env=env,
        database_url=database_url,
        redis_url=env_vars.get("PAYYMO_REDIS_URL") or None,
        migration_database_url=env_vars.get("PAYYMO_MIGRATION_DATABASE_URL") or None,
        # 0 turns a timeout off.
        db_statement_timeout_ms=_whole_number(
            env_vars, "PAYYMO_DB_STATEMENT_TIMEOUT_MS", DEFAULT_DB_STATEMENT_TIMEOUT_MS, minimum=0
        ),
        db_lock_timeout_ms=_whole_number(
            env_vars, "PAYYMO_DB_LOCK_TIMEOUT_MS", DEFAULT_DB_LOCK_TIMEOUT_MS, minimum=0
        ),
        db_idle_in_transaction_timeout_ms=_whole_number(
            env_vars,
            "PAYYMO_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
            DEFAULT_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
            minimum=0,
        ),
        secret_key=secret_key,
        encryption_key=encryption_key,
        instance_path=instance,
        plan_rate_limits=limits,
        log_level=env_vars.get("PAYYMO_LOG_LEVEL", "INFO").upper(),
        reconcile_processes=_whole_number(
            env_vars, "PAYYMO_RECONCILE_PROCESSES", default_reconcile_processes(), maximum=64
        ),
        reconcile_parallel_min=_whole_number(
            env_vars, "PAYYMO_RECONCILE_PARALLEL_MIN", DEFAULT_RECONCILE_PARALLEL_MIN, minimum=0
        ),
        reconcile_chunk_size=_whole_number(
            env_vars, "PAYYMO_RECONCILE_CHUNK_SIZE", DEFAULT_RECONCILE_CHUNK_SIZE, maximum=100_000
        ),
        inline_jobs=_whole_number(env_vars, "PAYYMO_INLINE_JOBS", 0, minimum=0, maximum=1) == 1,
        bad_key_rate_limit=_whole_number(
            env_vars, "PAYYMO_BAD_KEY_RATE_LIMIT", DEFAULT_BAD_KEY_RATE_LIMIT
        ),
        max_api_keys_per_tenant=_whole_number(
            env_vars, "PAYYMO_MAX_API_KEYS_PER_TENANT", DEFAULT_MAX_API_KEYS_PER_TENANT
        ),
        redis_connect_timeout=_seconds(
            env_vars, "PAYYMO_REDIS_CONNECT_TIMEOUT", DEFAULT_REDIS_CONNECT_TIMEOUT, maximum=10
        ),
        redis_socket_timeout=_seconds(
            env_vars, "PAYYMO_REDIS_SOCKET_TIMEOUT", DEFAULT_REDIS_SOCKET_TIMEOUT, maximum=10
        ),
        redis_breaker_seconds=_seconds(
            env_vars, "PAYYMO_REDIS_BREAKER_SECONDS", DEFAULT_REDIS_BREAKER_SECONDS, maximum=300
        ),
        sweep_interval_seconds=_whole_number(
            env_vars, "PAYYMO_SWEEP_INTERVAL", DEFAULT_SWEEP_INTERVAL, maximum=86_400
        ),
    )
