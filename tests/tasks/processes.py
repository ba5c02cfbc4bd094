"""Run the real ``payymo`` command in a child process against the test settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from payymo.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PAYYMO = str(Path(sys.executable).with_name("payymo"))


def payymo_env(settings: Settings, **overrides: str | None) -> dict[str, str]:
    """The environment a child ``payymo`` needs to use ``settings`` (no stray PAYYMO_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYYMO_")}
    env.update(
        PAYYMO_ENV=settings.env,
        PAYYMO_DATABASE_URL=settings.database_url,
        PAYYMO_SECRET_KEY=settings.secret_key,
        PAYYMO_ENCRYPTION_KEY=settings.encryption_key,
        PAYYMO_INSTANCE_PATH=str(settings.instance_path),
        # So the worker can import job modules under tests/.
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
    )
    if settings.redis_url:
        env["PAYYMO_REDIS_URL"] = settings.redis_url
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def terminate(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a child: SIGTERM, then SIGKILL if it has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
