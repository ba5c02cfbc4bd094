"""Send one webhook attempt: to the checked address, pooled, bounded in time and bytes.

A ``Sender`` is shared by the dispatcher's threads: urllib3 keeps one keep-alive pool
per (address, port, host name). Redirects are never followed, at most ``excerpt_bytes``
of a response are read (a larger body drops the connection instead of being drained),
and an attempt ends ``timeout`` seconds after it started, however the receiver behaves.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass

import certifi
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from integrations.webhooks.targets import Policy, UnsafeTarget, resolve

USER_AGENT = "Payymo-Webhooks/1.0"
_CHUNK = 1024


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code, or an error in plain words."""

    status_code: int | None
    duration_ms: int
    excerpt: str
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """A 2xx answer: delivered."""
        return self.status_code is not None and 200 <= self.status_code < 300


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from now (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now)


class Sender:
    """POSTs webhook bodies over pooled keep-alive connections, safely."""

    def __init__(
        self,
        *,
        policy: Policy,
        timeout: float = 10.0,
        connect_timeout: float = 5.0,
        excerpt_bytes: int = 1024,
        pool_size: int = 16,
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        self.excerpt_bytes = excerpt_bytes
        self._pools = urllib3.PoolManager(
            num_pools=256, maxsize=pool_size, block=False, ca_certs=certifi.where()
        )

    def close(self) -> None:
        """Close every pooled connection."""
        self._pools.clear()

    def send(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        """One attempt: resolve and check ``url``, POST ``body``, read a capped excerpt."""
        started = time.monotonic()
        try:
            target = resolve(url, self.policy)
        except UnsafeTarget as exc:
            return Outcome(None, _elapsed_ms(started), "", f"refused: {exc}")
        pool_kwargs = {}
        if target.scheme == "https":
            pool_kwargs = {"server_hostname": target.host, "assert_hostname": target.host}
        pool = self._pools.connection_from_host(
            target.address, target.port, target.scheme, pool_kwargs=pool_kwargs
        )
        request_headers = {
            "Host": target.host_header,
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **headers,
        }
        try:
            response = pool.urlopen(
                "POST",
                target.path,
                body=body,
                headers=request_headers,
                redirect=False,
                retries=False,
                assert_same_host=False,
                preload_content=False,
                release_conn=False,
                timeout=urllib3.Timeout(connect=self.connect_timeout, read=self._left(started)),
            )
        except NewConnectionError as exc:  # before timeouts: urllib3 derives it from one
            return Outcome(None, _elapsed_ms(started), "", _connection_error(exc))
        except (ConnectTimeoutError, ReadTimeoutError):
            return Outcome(None, _elapsed_ms(started), "", self._timed_out())
        except SSLError as exc:
            return Outcome(None, _elapsed_ms(started), "", f"TLS error: {_reason(exc)}")
        except (ProtocolError, HTTPError, OSError) as exc:
            return Outcome(None, _elapsed_ms(started), "", f"connection failed: {_reason(exc)}")
        excerpt, error = self._read_excerpt(response, started)
        return Outcome(
            response.status,
            _elapsed_ms(started),
            excerpt,
            error,
            retry_after_seconds(response.headers.get("Retry-After"), time.time()),
        )

    def _left(self, started: float) -> float:
        return max(0.05, self.timeout - (time.monotonic() - started))

    def _timed_out(self) -> str:
        return f"no answer within {self.timeout:g} s"

    def _read_excerpt(self, response, started: float) -> tuple[str, str | None]:
        """At most ``excerpt_bytes`` of the body, within the attempt's deadline."""
        data = bytearray()
        error = None
        finished = False
        try:
            while len(data) <= self.excerpt_bytes:
                sock = getattr(response.connection, "sock", None)
                if sock is not None:
                    sock.settimeout(self._left(started))
                if time.monotonic() - started >= self.timeout:
                    error = self._timed_out() + " (while reading the response)"
                    break
                chunk = response.read1(_CHUNK, decode_content=False)
                if not chunk:
                    finished = True
                    break
                data += chunk
        except (ReadTimeoutError, TimeoutError):
            error = self._timed_out() + " (while reading the response)"
        except (ProtocolError, HTTPError, OSError) as exc:
            error = f"the response broke off: {_reason(exc)}"
        if finished:
            response.release_conn()  # fully read: the connection goes back to the pool
        else:
            response.close()  # unread bytes: never drain them, drop the connection
            response.release_conn()
        text = bytes(data[: self.excerpt_bytes]).decode("utf-8", errors="replace")
        return text, error


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _reason(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or exc
    return str(reason)[:300]


def _connection_error(exc: NewConnectionError) -> str:
    text = str(exc).lower()
    if "refused" in text:
        return "connection refused"
    return f"cannot connect: {_reason(exc)}"
