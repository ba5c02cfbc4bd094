"""Access tokens: new, refreshed before expiry, cached across processes in a TokenStore."""

from __future__ import annotations

import hashlib
import threading

from integrations.banking import AuthenticationFailed, BankProviderError
from integrations.banking.tokens import MemoryTokenStore

__all__ = ["MemoryTokenStore", "Tokens"]

# Refresh an access token this long before it expires (a call may take a while).
MARGIN_SECONDS = 300


class Tokens:
    """The access token for one set of credentials against one base URL."""

    def __init__(self, client, *, secret_id: str, secret_key: str, store):
        self.client = client
        self._secret_id = secret_id
        self._secret_key = secret_key
        self.store = store
        scope = hashlib.sha256(f"{client.base_url}\0{secret_id}".encode()).hexdigest()[:32]
        self._access_key = f"gocardless:{scope}:access"
        self._refresh_key = f"gocardless:{scope}:refresh"
        self._guard = threading.Lock()

    def access(self) -> str:
        """A valid access token: cached, refreshed, or new."""
        token = self.store.get(self._access_key)
        if token:
            return token
        with self._guard:
            token = self.store.get(self._access_key)
            if token:
                return token
            refresh = self.store.get(self._refresh_key)
            if refresh:
                try:
                    return self._refresh(refresh)
                except (AuthenticationFailed, BankProviderError):
                    pass  # the refresh token was refused: start over with new tokens
            return self._new()

    def drop_access(self) -> None:
        """Forget the access token (the API called it invalid)."""
        self.store.set(self._access_key, "", ttl=1)

    def _store_access(self, body: dict) -> str:
        try:
            token = str(body["access"])
            lifetime = int(body.get("access_expires", 86400))
        except (KeyError, TypeError, ValueError):
            from integrations.banking import MalformedData

            raise MalformedData("GoCardless answered a token call without a token.") from None
        self.store.set(self._access_key, token, ttl=max(lifetime - MARGIN_SECONDS, 1))
        return token

    def _new(self) -> str:
        body = self.client.send(
            "POST",
            "/token/new/",
            json={"secret_id": self._secret_id, "secret_key": self._secret_key},
            auth=False,
        )
        token = self._store_access(body or {})
        if body.get("refresh"):
            lifetime = int(body.get("refresh_expires", 2592000))
            self.store.set(self._refresh_key, str(body["refresh"]), ttl=max(lifetime - 60, 1))
        return token

    def _refresh(self, refresh: str) -> str:
        body = self.client.send("POST", "/token/refresh/", json={"refresh": refresh}, auth=False)
        return self._store_access(body or {})
