"""A fake GoCardless Bank Account Data server (WSGI) speaking the real wire format.

``FakeGoCardless`` holds the state and a Python control API for tests; ``app`` is the WSGI
callable; ``serve_in_thread`` runs it on loopback; ``main`` is ``payymo fake-gocardless``.
"""

from integrations.gocardless.fake.server import FakeGoCardless, LocalFake, main, serve_in_thread

__all__ = ["FakeGoCardless", "LocalFake", "main", "serve_in_thread"]
