"""Log lines carry no terminal colour codes, even when the process writes to a terminal.

werkzeug colours its request lines by status and RQ colours queue names and job ids when
stdout is a terminal; both reach our JSON lines, where the codes are noise (escaped as
\\u001b[…m). Each process runs on a pseudo-terminal here, as under ``make run``.
"""

from __future__ import annotations

import os
import pty
import subprocess
import threading
import time

import pytest
import redis
import requests
from rq import Queue

from payymo import jobs
from tests.tasks.processes import PAYYMO, ROOT, free_port, payymo_env, terminate

COLOUR_CODES = ("\x1b[", "\\u001b[", "\\x1b[")


class Terminal:
    """A pseudo-terminal a child writes to; everything it wrote, read as it comes."""

    def __init__(self):
        self.leader, self.follower = pty.openpty()
        self._chunks: list[bytes] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        while True:
            try:
                chunk = os.read(self.leader, 65536)
            except OSError:  # the child side closed
                return
            if not chunk:
                return
            self._chunks.append(chunk)

    def text(self) -> str:
        """What was written so far (after the child exited: all of it)."""
        return b"".join(self._chunks).decode(errors="replace")

    def close(self) -> str:
        """Everything written, once the child's side is closed."""
        os.close(self.follower)
        self._reader.join(timeout=10)
        os.close(self.leader)
        return self.text()


def _wait_until_serving(url: str, deadline: float) -> None:
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_served_requests_log_without_colour_codes(app, settings):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    terminal = Terminal()
    proc = subprocess.Popen(
        [PAYYMO, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=payymo_env(settings, PAYYMO_ENV="development", TERM="xterm-256color"),
        stdin=subprocess.DEVNULL,
        stdout=terminal.follower,
        stderr=terminal.follower,
    )
    try:
        _wait_until_serving(f"{base}/healthz", time.monotonic() + 30)
        # werkzeug colours 404 yellow, other 4xx bold red, 5xx magenta, 304 cyan.
        assert requests.get(f"{base}/nowhere", timeout=5).status_code == 404
        assert requests.get(f"{base}/api/v1/invoices", timeout=5).status_code == 401
        deadline = time.monotonic() + 10
        while "/api/v1/invoices" not in terminal.text() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        terminate(proc)
    output = terminal.close()
    assert "GET /nowhere HTTP/1.1" in output, output[-2000:]
    assert "GET /api/v1/invoices HTTP/1.1" in output, output[-2000:]
    for code in COLOUR_CODES:
        assert code not in output, output[-2000:]


@pytest.mark.redis
@pytest.mark.postgres
def test_a_worker_run_logs_without_colour_codes(app, settings):
    conn = redis.Redis.from_url(settings.redis_url)
    for name in jobs.QUEUES:
        Queue(name, connection=conn).empty()
    queued = Queue("low", connection=conn).enqueue("tasks.maintenance.purge_idempotency_records")
    terminal = Terminal()
    proc = subprocess.run(
        [PAYYMO, "worker", "--burst"],
        cwd=ROOT,
        env=payymo_env(settings, TERM="xterm-256color"),
        stdin=subprocess.DEVNULL,
        stdout=terminal.follower,
        stderr=terminal.follower,
        timeout=120,
    )
    output = terminal.close()
    assert proc.returncode == 0, output[-2000:]
    # RQ colours queue names green and job descriptions blue on a terminal.
    assert queued.id in output, output[-2000:]
    assert "Listening on" in output, output[-2000:]
    for code in COLOUR_CODES:
        assert code not in output, output[-2000:]
