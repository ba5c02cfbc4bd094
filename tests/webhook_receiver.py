"""A webhook receiver on loopback for tests: records every request, answers as scripted."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    peer: tuple  # the client's (address, port): one port for many requests is keep-alive


@dataclass
class Answer:
    """What to answer: a status, headers, a body; or hang, or stream without end."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b'{"ok":true}'
    hang: float = 0.0  # seconds to wait before answering
    stream_forever: bool = False  # a body that never ends (chunked)


class Receiver:
    """Serve on 127.0.0.1 in a thread; ``answer`` decides each response."""

    def __init__(self, answer: Callable[[Received], Answer] | None = None) -> None:
        self.requests: list[Received] = []
        # Requests being answered now, and the most at once, by path.
        self.in_flight: Counter = Counter()
        self.peak: Counter = Counter()
        self.answer = answer or (lambda _received: Answer())
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                received = Received(self.path, headers, body, time.time(), self.client_address)
                with receiver._arrived:
                    receiver.requests.append(received)
                    receiver.in_flight[self.path] += 1
                    receiver.peak[self.path] = max(
                        receiver.peak[self.path], receiver.in_flight[self.path]
                    )
                    receiver._arrived.notify_all()
                reply = receiver.answer(received)
                if reply.hang:
                    time.sleep(reply.hang)
                # Answered from here on: a client may send its next request once it reads
                # the answer, which must not find this one still counted.
                with receiver._arrived:
                    receiver.in_flight[self.path] -= 1
                self._send(reply)

            def _send(self, reply: Answer) -> None:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.stream_forever:
                    self.send_header("Transfer-Encoding", "chunked")
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        for _ in range(800):  # 50 MB, if anyone read it all
                            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    except OSError:
                        pass  # the client hung up, as it should
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        # A client that hangs up mid-body (as the sender should) is not an error here.
        self._server.handle_error = lambda *_args: None
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The receiver's base URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> Receiver:
        """Start serving; returns self."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Block until ``count`` requests arrived; returns them all."""
        with self._arrived:
            self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)
            return list(self.requests)
