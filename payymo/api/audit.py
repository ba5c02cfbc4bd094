"""The audit trail of writes: who (key id), what (route), which resource, how it ended.

Every mutating request is audited, the refused and failed ones too (a partner's calls of
the partner API in the partner's own log, naming the tenant a call was about): a success
in the request's own transaction (it commits, or not, with the change), a failure after
the request's transaction has rolled back, in a short transaction of its own. A key that
exists but was refused (revoked, expired, tenant suspended) is audited under its tenant
with the real reason, though the client only saw "Invalid API key provided.". Not
audited: reads, requests with no known tenant (unknown or missing keys: logged as
security events instead), and 429s (a flood must not turn into a flood of writes).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from flask import Response, g, request
from sqlalchemy.exc import DBAPIError

from payymo import db
from payymo.api.query_parameters import route_template
from payymo.models import AuditLog, PartnerAuditLog
from payymo.tenancy import security_log, tenant_scope

log = logging.getLogger("payymo.audit")

MUTATING = {"POST", "PUT", "PATCH", "DELETE"}
NOT_AUDITED_STATUSES = {429}


def _body(response: Response) -> dict:
    body = response.get_json(silent=True) if response.is_json else None
    return body if isinstance(body, dict) else {}


def _fields(response: Response, *, key_id: str, error_code: str | None) -> dict:
    body = _body(response)
    ok = response.status_code < 400
    object_type, object_id = body.get("object"), body.get("id")
    if isinstance(body.get("tenant"), dict):  # a provisioned tenant, beside its first key
        object_type, object_id = "tenant", body["tenant"].get("id")
    if error_code is None and not ok:
        error = body.get("error")
        error_code = error.get("code") if isinstance(error, dict) else None
    return dict(
        actor=key_id,
        action=f"{request.method} {route_template()}",
        resource_type=object_type if ok and isinstance(object_type, str) else None,
        resource_id=object_id if ok and isinstance(object_id, str) else None,
        status_code=response.status_code,
        error_code=error_code if isinstance(error_code, str) else None,
        request_id=g.request_id,
        client_request_id=g.get("client_request_id"),
        ip=request.remote_addr,
    )


def _row(response: Response, *, key_id: str, error_code: str | None) -> AuditLog:
    return AuditLog(api_key_id=key_id, **_fields(response, key_id=key_id, error_code=error_code))


def _tenant_named(fields: dict) -> str | None:
    named = (request.view_args or {}).get("tenant_id")
    if named is None and fields["resource_type"] == "tenant":
        named = fields["resource_id"]
    if named is None:
        sent = request.get_json(silent=True)
        named = sent.get("tenant_id") if isinstance(sent, dict) else None
    return named[:40] if isinstance(named, str) else None


def _partner_row(response: Response) -> PartnerAuditLog:
    fields = _fields(response, key_id=g.partner_key.id, error_code=None)
    return PartnerAuditLog(partner_id=g.partner.id, tenant_id=_tenant_named(fields), **fields)


def wanted(response: Response) -> bool:
    """Whether this request's outcome belongs in the audit log."""
    return request.method in MUTATING and response.status_code not in NOT_AUDITED_STATUSES


def record_success(response: Response) -> None:
    """Add the audit row to the request's transaction (committed with the change)."""
    if g.get("partner_request"):
        db.session.add(_partner_row(response))
        return
    db.session.add(_row(response, key_id=g.api_key.id, error_code=None))


def record_failure(response: Response) -> None:
    """Write the audit row of a failed request in its own transaction (the request's
    changes were rolled back); an authenticated key's tenant is in scope."""
    if g.get("partner_request"):
        _write(_partner_row(response), tenant_id=None)
        return
    _write(_row(response, key_id=g.api_key.id, error_code=None), tenant_id=g.tenant.id)


def record_refused(response: Response, refused) -> None:
    """Audit a request whose existing key was refused, under the key's tenant."""
    row = _row(response, key_id=refused.key_id, error_code=refused.reason)
    _write(row, tenant_id=refused.tenant_id)
    security_log.warning(
        "api key refused",
        extra={
            "event": "security.api_key_refused",
            "reason": refused.reason,
            "api_key_id": refused.key_id,
            "tenant_id": refused.tenant_id,
        },
    )


def _write(row: AuditLog | PartnerAuditLog, *, tenant_id: str | None) -> None:
    session = db.session
    try:
        with tenant_scope(tenant_id) if tenant_id else nullcontext():
            session.add(row)
            session.commit()
    except DBAPIError as exc:  # the answer stands; a lost audit row is logged loudly
        session.rollback()
        log.error("audit row not written", extra={"error": type(exc.orig).__name__})
