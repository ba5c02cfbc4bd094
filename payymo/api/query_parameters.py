"""Query parameters the OpenAPI document does not declare are refused, not ignored."""

from __future__ import annotations

import re

from flask import current_app, request

from payymo.errors import InvalidRequest

_RULE_VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")


def route_template() -> str:
    """The matched route as in the OpenAPI spec: ``/api/v1/invoices/{invoice_id}``."""
    if request.url_rule is None:
        return request.path
    return _RULE_VARIABLE.sub(r"{\1}", request.url_rule.rule)


def _declared() -> dict[tuple[str, str], set[str]]:
    """(OpenAPI path, METHOD) → the query parameters the spec declares, built once per app."""
    table = current_app.extensions.get("payymo_query_parameters")
    if table is None:
        table = {}
        for path, item in current_app.extensions["payymo_api"].spec.to_dict()["paths"].items():
            shared = item.get("parameters", [])
            for method, operation in item.items():
                if method == "parameters":
                    continue
                params = shared + operation.get("parameters", [])
                table[(path, method.upper())] = {
                    p["name"] for p in params if p.get("in") == "query"
                }
        current_app.extensions["payymo_query_parameters"] = table
    return table


def reject_unknown() -> None:
    """400 ``parameter_unknown`` for a query parameter the operation does not declare."""
    # Routes without a query schema would otherwise ignore ?anything silently.
    if request.url_rule is None or not request.args:
        return
    method = "GET" if request.method == "HEAD" else request.method
    allowed = _declared().get((route_template(), method))
    if allowed is None:
        return  # not an API operation of the spec
    unknown = next((name for name in request.args if name not in allowed), None)
    if unknown is not None:
        raise InvalidRequest(
            f"Unknown query parameter '{unknown[:40]}'.",
            param=unknown[:40],
            code="parameter_unknown",
        )
