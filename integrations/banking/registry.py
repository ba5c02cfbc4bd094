"""Find a provider package by name: ``integrations.<name>`` exposing ``create_provider``.

A provider package defines ``create_provider(*, credentials, base_url, token_store,
timeout) -> BankProvider`` and ``CREDENTIAL_FIELDS`` (the names of the secrets it needs).
Adding a provider is adding such a package; nothing else changes.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

_NAME = re.compile(r"[a-z][a-z0-9_]{1,39}")


class UnknownProvider(LookupError):
    """No bank-data provider package of that name."""


def provider_module(name: str) -> ModuleType:
    """The package implementing provider ``name``."""
    if not _NAME.fullmatch(name) or name == "banking":
        raise UnknownProvider(f"unknown bank provider {name!r}")
    try:
        module = importlib.import_module(f"integrations.{name}")
    except ModuleNotFoundError as exc:
        raise UnknownProvider(f"unknown bank provider {name!r}") from exc
    if not hasattr(module, "create_provider"):
        raise UnknownProvider(f"integrations.{name} is not a bank provider")
    return module
