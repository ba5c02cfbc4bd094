"""Prefixed, time-ordered, unguessable public ids (ULID-style, Crockford base32)."""

from __future__ import annotations

import os
import re
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BODY = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
# Any id's shape (prefix, underscore, 26 Crockford base-32 characters), for documents.
ID_PATTERN = r"^[a-z]+_[0-9A-HJKMNP-TV-Z]{26}$"
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
    "provider_credential": "pcr",
    "webhook_endpoint": "we",
    "webhook_delivery": "del",
    "webhook_attempt": "watt",
    "stripe_link": "stl",
    "stripe_payment": "spay",
    "stripe_payout": "spo",
    "stripe_balance_transaction": "sbt",
    "stripe_event": "sev",
}


# Precomputed digits: a 10-bit pair and 15-bit triples cover the 130 bits of 26
# characters in 9 lookups, ~10x faster than dividing digit by digit (ids are minted
# by the hundred thousand in a reconcile run). 32,768 short strings, built once.
_PAIRS = [a + b for a in _ALPHABET for b in _ALPHABET]
_TRIPLES = [pair + c for pair in _PAIRS for c in _ALPHABET]
_RAND_MASK = (1 << 80) - 1
_STEP_BITS = 64  # random step between two ids of one millisecond
_FRESH_BITS = 79  # a millisecond's first id leaves half the space for the steps after it


def _encode(value: int) -> str:
    """The 26-character Crockford base32 body of a 128-bit ``value``."""
    t = _TRIPLES
    return (
        _PAIRS[value >> 120]
        + t[(value >> 105) & 0x7FFF]
        + t[(value >> 90) & 0x7FFF]
        + t[(value >> 75) & 0x7FFF]
        + t[(value >> 60) & 0x7FFF]
        + t[(value >> 45) & 0x7FFF]
        + t[(value >> 30) & 0x7FFF]
        + t[(value >> 15) & 0x7FFF]
        + t[value & 0x7FFF]
    )


# Random bytes drawn 4 KiB at a time: one getrandom() call per id cost more than the rest
# of new_id when a run mints 600k ids. Same source; a forked child never reuses the pool.
_POOL_SIZE = 4096
_pool = b""
_pool_at = 0


def _drop_pool() -> None:
    global _pool, _pool_at
    _pool, _pool_at = b"", 0


os.register_at_fork(after_in_child=_drop_pool)


def _randbits(bits: int) -> int:
    """``bits`` (at most 128) random bits from the OS; the caller holds ``_lock``."""
    global _pool, _pool_at
    size = (bits + 7) // 8
    if _pool_at + size > len(_pool):
        _pool, _pool_at = os.urandom(_POOL_SIZE), 0
    chunk = _pool[_pool_at : _pool_at + size]
    _pool_at += size
    return int.from_bytes(chunk, "big") >> (size * 8 - bits)


def new_id(prefix: str) -> str:
    """A new id like ``inv_01JD…``: 48-bit milliseconds then 80 random bits, increasing.

    Within one millisecond the random part grows by a random step of up to 2^64, so ids
    stay strictly increasing (cursors and sorting rely on it) while a neighbour's id does
    not give this one away. A step that would overflow moves the stamp on a millisecond.
    """
    global _last_ms, _last_rand
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            # Same millisecond (or clock stepped back): stay strictly increasing.
            now = _last_ms
            rand = _last_rand + 1 + _randbits(_STEP_BITS)
            if rand > _RAND_MASK:
                now, rand = now + 1, _randbits(_FRESH_BITS)
        else:
            rand = _randbits(_FRESH_BITS)
        _last_ms, _last_rand = now, rand
    return f"{prefix}_{_encode((now << 80) | rand)}"


def floor_id(prefix: str, moment_ms: int) -> str:
    """The smallest id that can be minted at ``moment_ms`` (unix milliseconds) or later:
    ``id < floor_id(...)`` selects rows created before then, by primary key."""
    return f"{prefix}_{_encode(moment_ms << 80)}"


def is_valid(value: str, prefix: str) -> bool:
    """True when ``value`` is well-formed for ``prefix``."""
    head, sep, body = value.partition("_")
    return bool(sep) and head == prefix and bool(_BODY.fullmatch(body))
