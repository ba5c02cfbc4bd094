"""Request ids, JSON logs and Prometheus metrics."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable
from contextvars import ContextVar

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pythonjsonlogger.json import JsonFormatter

request_id_var: ContextVar[str | None] = ContextVar("payymo_request_id", default=None)
# The id a client sent in X-Request-Id, when well-formed: logged beside ours, never as ours.
client_request_id_var: ContextVar[str | None] = ContextVar("payymo_client_request_id", default=None)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        client_id = client_request_id_var.get()
        if client_id is not None:
            record.client_request_id = client_id
        return True


# ANSI escape sequences (CSI): colours, bold, resets.
_TERMINAL_CODES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")


class _PlainText(logging.Filter):
    """Drop terminal colour codes from messages; a log line is read by machines, not a tty.

    werkzeug colours request lines by status and RQ colours queue names and job ids when
    stdout is a terminal; in a JSON line those codes are only noise (``\\u001b[33m``).
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\x1b" in message:
            record.msg, record.args = _TERMINAL_CODES.sub("", message), None
        return True


def setup_logging(level: str = "INFO") -> None:
    """JSON lines on stderr, each carrying the request id."""
    root = logging.getLogger()
    if any(getattr(h, "_payymo", False) for h in root.handlers):
        root.setLevel(level)
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=True)
    )
    handler.addFilter(_ContextFilter())
    handler.addFilter(_PlainText())
    handler._payymo = True
    root.addHandler(handler)
    root.setLevel(level)


class _ReadAtScrape(Collector):
    """A gauge read from ``value()`` at scrape time; absent while it returns None."""

    def __init__(self, name: str, documentation: str, value: Callable[[], float | None]):
        self.name, self.documentation, self.value = name, documentation, value

    def collect(self):
        value = self.value()
        if value is not None:
            yield GaugeMetricFamily(self.name, self.documentation, value=value)


class Metrics:
    """The HTTP metrics of one app, in a registry of its own."""

    def __init__(self, *, redis_up: Callable[[], float | None] | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "payymo_http_requests_total",
            "HTTP requests by route, method and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "payymo_http_request_duration_seconds",
            "HTTP request latency by route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.ratelimit_fallback = Counter(
            "payymo_ratelimit_fallback",
            "Requests whose rate limits were counted in process memory (Redis unavailable)",
            registry=self.registry,
        )
        if redis_up is not None:
            self.registry.register(
                _ReadAtScrape(
                    "payymo_redis_up",
                    "1 while Redis answers, 0 while calls skip it (circuit breaker open)",
                    redis_up,
                )
            )
