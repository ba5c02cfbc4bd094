"""Prefixed, time-ordered, unguessable public ids (ULID-style, Crockford base32)."""

from __future__ import annotations

import re
import secrets
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BODY = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$")
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0

PREFIXES = {
    "tenant": "ten",
    "api_key": "key",
    "bank_connection": "bc",
    "bank_account": "ba",
    "transaction": "txn",
    "invoice": "inv",
    "event": "evt",
    "audit": "aud",
    "idempotency": "idem",
    "job": "job",
    "match": "mat",
    "allocation": "alc",
    "suggestion": "sug",
    "match_block": "blk",
    "payer_memory": "pm",
}


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id like ``inv_01JD…``: 48-bit milliseconds then 80 random bits, monotonic."""
    global _last_ms, _last_rand
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            # Same millisecond (or clock stepped back): stay strictly increasing.
            now = _last_ms
            rand = _last_rand + 1
        else:
            rand = secrets.randbits(80)
        _last_ms, _last_rand = now, rand
    return f"{prefix}_{_encode(now, 10)}{_encode(rand & ((1 << 80) - 1), 16)}"


def is_valid(value: str, prefix: str) -> bool:
    """True when ``value`` is well-formed for ``prefix``."""
    head, sep, body = value.partition("_")
    return bool(sep) and head == prefix and bool(_BODY.match(body))
