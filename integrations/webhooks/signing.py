"""Webhook secrets and signatures: Payymo's ``X-Webhook-Signature`` and Standard Webhooks.

``X-Webhook-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "{t}.{body}")>`` keyed with the
whole ``whsec_…`` string (as Stripe does); ``webhook-signature: v1,<base64 HMAC-SHA256>``
over ``"{id}.{timestamp}.{body}"`` keyed with the base64-decoded part of the same secret.
One signature per live secret while a rotation is under way.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Sequence

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def payymo_signature(secrets_: Sequence[str], timestamp: int, body: bytes) -> str:
    """The ``X-Webhook-Signature`` header value."""
    signed = str(timestamp).encode() + b"." + body
    parts = [f"t={timestamp}"]
    for secret in secrets_:
        digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        parts.append(f"v1={digest}")
    return ",".join(parts)


def standard_signature(secrets_: Sequence[str], event_id: str, timestamp: int, body: bytes) -> str:
    """The Standard Webhooks ``webhook-signature`` header value."""
    signed = f"{event_id}.{timestamp}.".encode() + body
    signatures = []
    for secret in secrets_:
        digest = hmac.new(_key_bytes(secret), signed, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode())
    return " ".join(signatures)


def headers(secrets_: Sequence[str], event_id: str, timestamp: int, body: bytes) -> dict:
    """Every signature header of one attempt."""
    return {
        "X-Webhook-Signature": payymo_signature(secrets_, timestamp, body),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secrets_, event_id, timestamp, body),
    }


def verify(secret: str, header: str, body: bytes, *, tolerance: int = 300) -> bool:
    """Whether an ``X-Webhook-Signature`` header signs ``body`` with ``secret``, recently."""
    parts = [part.split("=", 1) for part in header.split(",") if "=" in part]
    stamps = [value for key, value in parts if key == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit():
        return False
    if abs(time.time() - int(stamps[0])) > tolerance:
        return False
    expected = payymo_signature([secret], int(stamps[0]), body).split(",", 1)[1][3:]
    return any(hmac.compare_digest(expected, value) for key, value in parts if key == "v1")
