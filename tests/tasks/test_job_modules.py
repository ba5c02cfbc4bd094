"""A worker imports every job module before it forks, so each job pays for no imports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from payymo import jobs

ROOT = Path(__file__).resolve().parents[2]
_ENQUEUED = re.compile(r'"(tasks\.[a-z_]+)\.[a-z_]+"')


def test_every_module_a_job_is_enqueued_from_is_preloaded():
    named = {
        match.group(1)
        for path in (ROOT / "payymo").rglob("*.py")
        for match in _ENQUEUED.finditer(path.read_text())
    }
    named.discard("tasks.x")  # the docstrings' example
    assert named and named <= set(jobs.JOB_MODULES)


def test_preload_imports_them_all():
    code = (
        "import sys; from payymo import jobs; jobs.preload(); "
        "print(all(m in sys.modules for m in jobs.JOB_MODULES))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "True"
