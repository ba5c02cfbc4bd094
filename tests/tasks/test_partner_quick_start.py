"""README's partner quick start, run as written (bash, curl, jq, the payymo CLI)."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import requests
from sqlalchemy import delete, select

from payymo.models import Partner, Tenant
from tests.tasks.processes import PAYYMO, ROOT

README = (ROOT / "README.md").read_text()


def _block(marker: str) -> str:
    section = README[README.index(marker) :]
    start = section.index("```sh\n") + len("```sh\n")
    return section[start : section.index("\n```", start)]


@pytest.mark.postgres
@pytest.mark.skipif(not shutil.which("jq"), reason="the README's quick start uses jq")
def test_the_partner_quick_start_runs_as_written(demo_server, sessions):
    script = _block("<!-- partner-quick-start -->")
    assert ".venv/bin/payymo partners create" in script and "127.0.0.1:8000" in script
    script = script.replace("127.0.0.1:8000", f"127.0.0.1:{demo_server['port']}")
    script = script.replace(".venv/bin/payymo", PAYYMO)
    try:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=ROOT,
            env={**demo_server["env"], "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr + demo_server["log"].read_text()[-3000:]
        status, rest = done.stdout.split("\n", 1)
        shown, link = rest.rstrip("\n").rsplit("\n", 1)
        assert json.loads(status) == "open"
        tenant = json.loads(shown)
        assert (tenant["name"], tenant["status"]) == ("Corner Shop Ltd", "active")
        assert tenant["usage"]["month_transaction_count"] == 0
        # The printed link signs a browser in to the tenant's portal, once.
        portal = requests.Session()
        opened = portal.get(link, timeout=10)
        assert opened.status_code == 200 and "Corner Shop Ltd" in opened.text
        assert requests.get(link, timeout=10).status_code == 400
    finally:
        with sessions() as session:
            partners = session.scalars(select(Partner.id).where(Partner.name == "Ledgerly")).all()
            session.execute(delete(Tenant).where(Tenant.partner_id.in_(partners)))
            session.execute(delete(Partner).where(Partner.id.in_(partners)))
            session.commit()
