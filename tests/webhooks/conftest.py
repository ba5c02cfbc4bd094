"""Webhook fixtures: a loopback receiver, and a dispatcher on a clock the test moves."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from payymo.db import utcnow
from tasks.webhooks import Dispatcher
from tests.webhook_receiver import Receiver


class Clock:
    """A clock the test moves by hand (the dispatcher never sleeps through a schedule)."""

    def __init__(self) -> None:
        # A little ahead of the wall clock: what the API makes due "now" is due here too.
        self.now = utcnow() + dt.timedelta(minutes=1)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> None:
        """Move on by a ``timedelta(**delta)``."""
        self.now += dt.timedelta(**delta)


@pytest.fixture
def receiver():
    found = Receiver().start()
    yield found
    found.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dispatcher(settings, connection, clock):
    """A dispatcher whose passes run in the test's thread (and its savepoint transaction)."""
    found = Dispatcher(
        settings.with_overrides(webhook_timeout_seconds=2.0), clock=clock, rng=random.Random(7)
    )
    yield found
    found.stop()


def subscribe(api, url: str, event_types=("*",), **extra) -> dict:
    """Create an endpoint through the API; answers its document (with the secret)."""
    response = api.post(
        "webhook_endpoints", json={"url": url, "event_types": list(event_types), **extra}
    )
    assert response.status_code == 201, response.json
    return response.json
