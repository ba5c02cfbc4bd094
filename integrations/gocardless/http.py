"""HTTP to GoCardless: timeouts, retries with backoff and jitter, errors as typed exceptions.

Connection errors and 5xx are retried (a POST only when the connection failed before the
request was sent: an agreement must never be created twice). A 429 is never retried: it
raises ``RateLimited`` with the seconds to the reset. One 401 "Invalid token" is retried
with a new token.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable

import orjson
import requests

from integrations.banking import (
    AccountSuspended,
    AuthenticationFailed,
    BankProviderError,
    ConsentExpired,
    InstitutionError,
    MalformedData,
    NotFoundAtProvider,
    ProviderUnavailable,
    RateLimited,
    RequestRejected,
)

_RESET_HEADERS = ("http_x_ratelimit_account_success_reset", "http_x_ratelimit_reset")
_TRY_AGAIN = re.compile(r"try again in (\d+) seconds", re.IGNORECASE)
_EXPIRED = re.compile(r"(end user agreement|eua).*(expired)|access has expired", re.IGNORECASE)


def header(headers, name: str) -> str | None:
    """A header by name, case-insensitively (GoCardless sends ``HTTP_X_RATELIMIT_*``)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _retry_after(response: requests.Response, body: dict) -> int | None:
    for name in _RESET_HEADERS:
        value = header(response.headers, name)
        if value is not None and value.strip().isdigit():
            return int(value.strip())
    found = _TRY_AGAIN.search(str(body.get("detail") or ""))
    return int(found[1]) if found else None


def _words(seconds: int | None) -> str:
    if seconds is None:
        return "later"
    hours, rest = divmod(seconds, 3600)
    return f"in {hours} h {rest // 60} min" if hours else f"in {max(rest // 60, 1)} min"


def provider_error(response: requests.Response, *, path: str) -> BankProviderError:
    """The typed error for a GoCardless error response."""
    try:
        body = orjson.loads(response.content)
        body = body if isinstance(body, dict) else {}
    except orjson.JSONDecodeError:
        body = {}
    summary = str(body.get("summary") or "")
    detail = str(body.get("detail") or "")
    kind = str(body.get("type") or "")
    said = " — ".join(p for p in (summary, detail) if p) or response.reason or ""
    status = response.status_code
    extra = {"provider_message": said, "status_code": status, "provider_type": kind or None}
    if status == 429:
        seconds = _retry_after(response, body)
        return RateLimited(
            f"GoCardless rate limit reached; try again {_words(seconds)}.",
            retry_after=seconds,
            **extra,
        )
    if kind == "AccessExpiredError" or _EXPIRED.search(f"{summary} {detail}"):
        return ConsentExpired("The end user's consent at the bank has expired.", **extra)
    if status == 409 or kind == "AccountInactiveError" or "suspended" in said.lower():
        return AccountSuspended("GoCardless suspended access to the account.", **extra)
    if status in (401, 403):
        return AuthenticationFailed("GoCardless refused Payymo's credentials.", **extra)
    if status == 404:
        return NotFoundAtProvider(f"GoCardless does not know {path}.", **extra)
    if status >= 500:
        return InstitutionError(f"GoCardless or the bank failed ({summary or status}).", **extra)
    return RequestRejected(f"GoCardless refused the request: {said}.", **extra)


class Client:
    """A ``requests.Session`` on the API's base URL; ``tokens`` is set by the caller."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float] = (3.05, 30.0),
        retries: int = 3,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        session: requests.Session | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.session = session or requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "payymo"})
        self.tokens = None

    def _pause(self, attempt: int) -> None:
        # Full jitter: spread retries of many workers instead of synchronising them.
        self.sleep(random.uniform(0, self.backoff * 2**attempt))  # noqa: S311

    def send(self, method: str, path: str, *, json=None, params=None, auth: bool = True):
        """The decoded JSON answer of one call, after retries; raises typed errors."""
        retried_token = False
        attempt = 0
        while True:
            headers = {}
            if auth:
                headers["Authorization"] = f"Bearer {self.tokens.access()}"
            try:
                response = self.session.request(
                    method,
                    self.base_url + path,
                    json=json,
                    params=params,
                    headers=headers,
                    timeout=self.timeout,
                )
            except requests.RequestException as exc:
                if attempt < self.retries and _may_retry(method, exc):
                    self._pause(attempt)
                    attempt += 1
                    continue
                what = (
                    "did not answer in time"
                    if isinstance(exc, requests.Timeout)
                    else ("could not be reached")
                )
                raise ProviderUnavailable(
                    f"GoCardless {what}.", provider_message=type(exc).__name__
                ) from None
            if response.status_code < 400:
                return self._decode(response, path)
            if (
                auth
                and response.status_code == 401
                and not retried_token
                and b"invalid token" in response.content.lower()
            ):
                self.tokens.drop_access()
                retried_token = True
                continue
            if response.status_code >= 500 and attempt < self.retries and method != "POST":
                self._pause(attempt)
                attempt += 1
                continue
            error = provider_error(response, path=path)
            if response.status_code >= 500:
                raise ProviderUnavailable(error.message, **_keep(error))
            raise error

    def _decode(self, response: requests.Response, path: str):
        if response.status_code == 204 or not response.content:
            return None
        try:
            return orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise MalformedData(
                f"GoCardless answered {path} with something that is not JSON.",
                status_code=response.status_code,
            ) from None


def _may_retry(method: str, exc: requests.RequestException) -> bool:
    """Retry reads always; a write only if the request never left (no connection)."""
    if method in ("GET", "DELETE"):
        return isinstance(exc, requests.ConnectionError | requests.Timeout)
    return isinstance(exc, requests.ConnectTimeout) or (
        isinstance(exc, requests.ConnectionError)
        and not isinstance(exc, requests.ReadTimeout)
        and "NewConnectionError" in repr(exc)
    )


def _keep(error: BankProviderError) -> dict:
    return {
        "provider_message": error.provider_message,
        "status_code": error.status_code,
        "provider_type": error.provider_type,
    }
