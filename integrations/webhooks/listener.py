"""A local webhook receiver for trying webhooks out (``payymo webhooks listen``).

Prints one line per delivery: the event type and id, and whether the signature holds
when a secret is given. Answers 200 (or the status asked for), so a user can also watch
retries by answering 500.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from integrations.webhooks.signing import verify


def describe(body: bytes, headers, secret: str | None) -> str:
    """One line about a delivery: type, id, signature check."""
    try:
        event = json.loads(body)
        what = f"{event.get('event_type', '?')} {event.get('id', '?')}"
    except ValueError:
        what = f"(not JSON, {len(body)} bytes)"
    if secret is None:
        check = "signature not checked (no --secret)"
    elif verify(secret, headers.get("X-Webhook-Signature", ""), body):
        check = "signature valid"
    else:
        check = "SIGNATURE INVALID"
    return f"{what}  attempt id {headers.get('webhook-id', '?')}  {check}"


def server(
    host: str, port: int, *, secret: str | None, status: int, out: Callable[[str], None]
) -> ThreadingHTTPServer:
    """An HTTP server that reports each POST through ``out`` and answers ``status``."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            out(describe(body, self.headers, secret))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return ThreadingHTTPServer((host, port), Handler)
