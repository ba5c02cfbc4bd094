"""Imports point one way: tasks → payymo → integrations; inside payymo, api → services → core."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        ("payymo/services", ("payymo.api", "tasks", "flask")),
        ("payymo/representations", ("payymo.api", "payymo.services", "tasks", "flask")),
        ("payymo/models", ("payymo.api", "payymo.services", "tasks")),
        ("payymo/matching", ("payymo.api", "payymo.services", "tasks", "sqlalchemy")),
        ("integrations", ("payymo", "tasks", "flask", "sqlalchemy")),
        ("tasks", ("payymo.api",)),
    ],
)
def test_no_module_imports_from_above_its_layer(folder, forbidden):
    wrong = []
    for path in _modules(folder):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not wrong, "\n".join(wrong)


def test_the_scan_sees_imports():
    assert "payymo.representations.invoices" in _imports(ROOT / "payymo/services/invoices.py")
