"""`make fuzz`: schemathesis's own CLI against a served app on the embedded default.

A throwaway instance (SQLite, in-process jobs) is migrated and seeded with the demo
tenant, served by ``payymo serve`` on a free loopback port with the rate limit lifted,
and ``st run`` tests every operation with the four checks the suite uses. Exits with
schemathesis's status: non-zero on any finding.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.openapi_fuzz import CHECKS
from tests.tasks.processes import free_port, terminate

BIN = Path(sys.executable).parent
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "100")
SEED = os.environ.get("FUZZ_SEED", "1")


def _wait_until_up(url: str, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit(f"payymo serve exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 (loopback URL we built)
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def main() -> int:
    """Serve a fresh embedded instance and run ``st run`` against it."""
    with tempfile.TemporaryDirectory(prefix="payymo-fuzz-") as instance:
        env = {
            **os.environ,
            "PAYYMO_INSTANCE_PATH": instance,
            "PAYYMO_PLAN_RATE_LIMITS": json.dumps({"standard": 1_000_000_000}),
            # ignored_auth sends requests with no key: the per-address bad-key limit
            # would otherwise answer 429 to everything that follows.
            "PAYYMO_BAD_KEY_RATE_LIMIT": "1000000000",
            "PAYYMO_LOG_LEVEL": "WARNING",
        }
        for name in ("PAYYMO_DATABASE_URL", "PAYYMO_REDIS_URL"):
            env.pop(name, None)
        subprocess.run([BIN / "payymo", "db", "upgrade"], env=env, check=True)
        port = free_port()
        origin = f"http://127.0.0.1:{port}"
        demo = subprocess.run(
            [BIN / "payymo", "demo", "--url", origin],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        key = json.loads(demo.stdout)["api_key"]
        server = subprocess.Popen(
            [BIN / "payymo", "serve", "--host", "127.0.0.1", "--port", str(port)], env=env
        )
        try:
            _wait_until_up(f"{origin}/healthz", server)
            return subprocess.run(
                [
                    BIN / "st",
                    "run",
                    f"{origin}/api/v1/openapi.json",
                    "--header",
                    f"X-API-Key: {key}",
                    "--checks",
                    ",".join(CHECKS),
                    "--max-examples",
                    MAX_EXAMPLES,
                    "--seed",
                    SEED,
                ],
                env=env,
                check=False,
            ).returncode
        finally:
            terminate(server)


if __name__ == "__main__":
    raise SystemExit(main())
