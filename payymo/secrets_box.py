"""Encryption at rest with the configured key (``PAYYMO_ENCRYPTION_KEY``, Fernet).

Fernet is authenticated encryption (AES-128-CBC with HMAC-SHA256): a token cannot be
read or altered without the key. Used for stored API responses that may carry a secret
(idempotent replays) and, as integrations arrive, provider credentials.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from payymo import runtime


class UnreadableSecret(RuntimeError):
    """A stored token the configured key cannot decrypt (wrong key, or tampered with)."""


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt(plaintext: str) -> str:
    """An encrypted, authenticated token for ``plaintext`` (ASCII, safe in a text column)."""
    return _fernet(runtime.settings().encryption_key).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext of a token from ``encrypt``; raises ``UnreadableSecret``."""
    try:
        return _fernet(runtime.settings().encryption_key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise UnreadableSecret(
            "a stored value cannot be decrypted with the configured key"
        ) from None
