"""The OpenAPI document beyond the schemas: lifecycle headers and errors, and examples."""

from __future__ import annotations

from payymo.api.openapi.examples import ExampleDocs
from payymo.api.openapi.lifecycle import SERVERS, LifecycleDocs

__all__ = ["SERVERS", "ExampleDocs", "LifecycleDocs"]
