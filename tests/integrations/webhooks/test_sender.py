"""The sender: checked address, no redirects, bounded time and bytes, keep-alive."""

from __future__ import annotations

import time

import pytest

from integrations.webhooks.sender import Sender, retry_after_seconds
from integrations.webhooks.targets import Policy
from tests.webhook_receiver import Answer, Receiver

LOCAL = Policy(allow_http=True, allow_private=True)


@pytest.fixture
def receiver():
    found = Receiver().start()
    yield found
    found.stop()


def test_posts_the_body_with_headers_and_reads_an_excerpt(receiver):
    receiver.answer = lambda _r: Answer(200, body=b"thanks " * 400)
    sender = Sender(policy=LOCAL)
    outcome = sender.send(receiver.url + "/hook?x=1", b'{"a":1}', {"webhook-id": "evt_1"})
    assert outcome.ok and outcome.status_code == 200 and outcome.error is None
    assert len(outcome.excerpt) == 1024 and outcome.excerpt.startswith("thanks")
    got = receiver.requests[0]
    assert got.path == "/hook?x=1" and got.body == b'{"a":1}'
    assert got.headers["webhook-id"] == "evt_1"
    assert got.headers["content-type"] == "application/json"


def test_a_name_is_connected_by_its_checked_address_and_keeps_its_host_header(receiver):
    port = receiver.url.rsplit(":", 1)[1]
    outcome = Sender(policy=LOCAL).send(f"http://localhost:{port}/", b"{}", {})
    assert outcome.ok
    assert receiver.requests[0].headers["host"] == f"localhost:{port}"


def test_connections_are_kept_alive_between_attempts(receiver):
    sender = Sender(policy=LOCAL)
    for _ in range(3):
        assert sender.send(receiver.url, b"{}", {}).ok
    peers = {r.peer for r in receiver.requests}
    assert len(receiver.requests) == 3 and len(peers) == 1


def test_redirects_are_not_followed(receiver):
    receiver.answer = lambda r: Answer(302, headers={"Location": "http://169.254.169.254/"})
    outcome = Sender(policy=LOCAL).send(receiver.url, b"{}", {})
    assert outcome.status_code == 302 and not outcome.ok
    assert len(receiver.requests) == 1


def test_a_receiver_that_hangs_costs_the_timeout_and_no_more(receiver):
    receiver.answer = lambda r: Answer(200, hang=5)
    started = time.monotonic()
    outcome = Sender(policy=LOCAL, timeout=1.0).send(receiver.url, b"{}", {})
    assert time.monotonic() - started < 2.5
    assert outcome.status_code is None and "no answer within 1 s" in outcome.error


def test_a_huge_streamed_body_is_not_read(receiver):
    receiver.answer = lambda r: Answer(200, stream_forever=True)
    started = time.monotonic()
    outcome = Sender(policy=LOCAL, timeout=5.0).send(receiver.url, b"{}", {})
    assert time.monotonic() - started < 2.0
    assert outcome.ok and len(outcome.excerpt) == 1024


def test_refused_connections_and_unsafe_targets_are_errors_in_plain_words(receiver):
    url = receiver.url
    receiver.stop()
    outcome = Sender(policy=LOCAL).send(url, b"{}", {})
    assert outcome.status_code is None and outcome.error == "connection refused"
    unsafe = Sender(policy=Policy()).send("https://127.0.0.1/", b"{}", {})
    assert unsafe.error.startswith("refused:") and "loopback" in unsafe.error


def test_retry_after_is_read_as_seconds_or_a_date():
    now = 1_700_000_000.0
    assert retry_after_seconds("120", now) == 120
    assert retry_after_seconds("Tue, 14 Nov 2023 22:15:20 GMT", now) == pytest.approx(120)
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_the_connection_goes_to_the_address_that_was_checked(receiver, monkeypatch):
    """DNS rebinding: a name that answers differently the second time is not asked again."""
    import socket

    real = socket.getaddrinfo
    asked = []

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            asked.append(host)
            address = "127.0.0.1" if len(asked) == 1 else "169.254.169.254"
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    port = receiver.url.rsplit(":", 1)[1]
    outcome = Sender(policy=LOCAL, timeout=2).send(f"http://rebind.example:{port}/", b"{}", {})
    assert outcome.ok, outcome
    assert asked == ["rebind.example"]  # resolved once, by the check
    assert receiver.requests[0].headers["host"] == f"rebind.example:{port}"
