"""README's verification snippets, run as written, accept real deliveries and refuse forgeries."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.helpers import invoice_body
from tests.webhooks.conftest import subscribe

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def _snippet(language: str) -> str:
    section = README[README.index("**Verifying a delivery.**") :]
    return re.search(rf"```{language}\n(.*?)```", section, flags=re.DOTALL).group(1)


def _python_verify():
    namespace: dict = {}
    exec(_snippet("python"), namespace)  # noqa: S102 (README's own code, run as a reader would)
    return namespace["verify"]


def _node_verify(folder: Path, secret: str, header: str, body: bytes) -> bool:
    script = folder / "verify.js"
    script.write_text(
        _snippet("js")
        + (
            "\nconst [secret, header, body] = process.argv.slice(2);"
            "\nprocess.stdout.write(String(verify(secret, header, Buffer.from(body, 'base64'))));"
        )
    )
    encoded = base64.b64encode(body).decode()
    done = subprocess.run(
        ["node", str(script), secret, header, encoded],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout == "true"


@pytest.fixture
def delivered(api, receiver, dispatcher):
    """A real delivery, after a rotation: two live secrets sign it."""
    endpoint = subscribe(api, receiver.url)
    rotated = api.post(f"webhook_endpoints/{endpoint['id']}/rotate_secret").json
    api.post("invoices", json=invoice_body())
    dispatcher.drain()
    [got] = receiver.requests
    return endpoint["secret"], rotated["secret"], got


def _forgeries(secret: str, got):
    header = got.headers["x-webhook-signature"]
    stamp = header.split(",")[0]
    tampered = json.loads(got.body) | {"tenant_id": "ten_someone_else"}
    yield secret, header, json.dumps(tampered).encode()  # body changed
    yield "whsec_" + base64.b64encode(b"x" * 32).decode(), header, got.body  # wrong secret
    yield secret, header.replace(stamp, "t=1000000000"), got.body  # old timestamp


def test_the_python_snippet_verifies_a_real_delivery(delivered):
    verify = _python_verify()
    old, new, got = delivered
    header = got.headers["x-webhook-signature"]
    assert verify(old, header, got.body) and verify(new, header, got.body)
    for secret, forged_header, body in _forgeries(new, got):
        assert not verify(secret, forged_header, body)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs Node.js (README's JS snippet)")
def test_the_node_snippet_verifies_a_real_delivery(delivered, tmp_path):
    old, new, got = delivered
    header = got.headers["x-webhook-signature"]
    assert _node_verify(tmp_path, old, header, got.body)
    assert _node_verify(tmp_path, new, header, got.body)
    for secret, forged_header, body in _forgeries(new, got):
        assert not _node_verify(tmp_path, secret, forged_header, body)
