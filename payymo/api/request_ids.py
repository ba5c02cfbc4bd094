"""Request ids: ours on every response, the client's kept beside it, never in its place.

Every request gets a fresh ``req_…`` id: it is what the error envelope, logs, events
and audit rows carry, so a client cannot choose it (collide with another request's id,
or forge one into our logs). A well-formed ``X-Request-Id`` from the client (8 to 64
letters, digits, ``_ . : -``) is kept as the client's id: echoed in
``X-Client-Request-Id``, logged and audited beside ours. A malformed one is ignored.
"""

from __future__ import annotations

import re
import secrets

from flask import Response, g, request

from payymo.observability import client_request_id_var, request_id_var

CLIENT_ID = re.compile(r"[A-Za-z0-9_.:\-]{8,64}")


def assign() -> None:
    """Give this request its id, and keep the client's id when it is well-formed."""
    g.request_id = f"req_{secrets.token_hex(12)}"
    incoming = request.headers.get("X-Request-Id", "")
    g.client_request_id = incoming if CLIENT_ID.fullmatch(incoming) else None
    g.request_id_tokens = (
        request_id_var.set(g.request_id),
        client_request_id_var.set(g.client_request_id),
    )


def add_headers(response: Response) -> None:
    """``X-Request-Id`` (ours) and, when the client sent one, ``X-Client-Request-Id``."""
    if g.get("request_id"):
        response.headers["X-Request-Id"] = g.request_id
    if g.get("client_request_id"):
        response.headers["X-Client-Request-Id"] = g.client_request_id


def release() -> None:
    """Forget the ids at the end of the request."""
    tokens = g.pop("request_id_tokens", None)
    if tokens is not None:
        request_id_var.reset(tokens[0])
        client_request_id_var.reset(tokens[1])
