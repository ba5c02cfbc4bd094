"""Portal actions in the tenant's audit log, as API writes are: who, what, which, how."""

from __future__ import annotations

from flask import g, request, session

from payymo import db
from payymo.models import AuditLog


def record(*, resource_type: str, resource_id: str, status_code: int, error_code=None) -> None:
    """Add an audit row for this portal action to the request's transaction.

    The actor is the sign-in link that opened the session (``portal:plk_…``), so a
    person's actions trace back to the partner that let them in.
    """
    actor = f"portal:{session.get('link_id')}"
    db.session.add(
        AuditLog(
            actor=actor,
            api_key_id=None,
            action=f"{request.method} {request.url_rule.rule if request.url_rule else request.path}",
            resource_type=resource_type,
            resource_id=resource_id,
            status_code=status_code,
            error_code=error_code,
            request_id=g.get("request_id"),
            client_request_id=None,
            ip=request.remote_addr,
        )
    )
