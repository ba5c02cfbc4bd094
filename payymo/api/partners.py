"""Partner keys in the request lifecycle: calling the partner API, or acting for a tenant.

A partner key calls ``/api/v1/partner/…`` as itself. On every tenant endpoint it acts
for one of its tenants, named by ``X-Tenant-Id``; a tenant it does not own answers 404,
exactly like another tenant's resource id, and from there the request is a tenant's
(the tenant's scope, the database wall, audit rows naming the partner key). A tenant's
own key may not send ``X-Tenant-Id`` (400).
"""

from __future__ import annotations

from flask import Response, g, request
from sqlalchemy.exc import DBAPIError

from payymo import auth, db
from payymo.api import query_parameters, rate_limits
from payymo.api.database_errors import database_error
from payymo.api.errors import error_response, log_unexpected
from payymo.errors import ApiError, AuthorizationError, InvalidRequest
from payymo.models import Tenant
from payymo.tenancy.partners import owned_tenant

TENANT_HEADER = "X-Tenant-Id"


def refuse_tenant_header() -> None:
    """A tenant's key names no other tenant: ``X-Tenant-Id`` is refused, never honoured."""
    if request.headers.get(TENANT_HEADER) is not None:
        raise InvalidRequest(
            "X-Tenant-Id is for partner keys; a tenant's API key acts for its own tenant only.",
            param=TENANT_HEADER,
            code="tenant_header_not_allowed",
        )


def partner_request(caller: auth.PartnerCaller) -> None:
    """A partner key calling the partner API: its scope, its rate limit, no tenant."""
    g.partner_request = True
    if request.headers.get(TENANT_HEADER) is not None:
        raise InvalidRequest(
            "The partner API acts for the partner itself; leave X-Tenant-Id out.",
            param=TENANT_HEADER,
            code="tenant_header_not_allowed",
        )
    if request.headers.get("Idempotency-Key") is not None:
        # Not silently ignored: a retried provisioning must not make a second tenant.
        raise InvalidRequest(
            "Idempotency-Key is not supported on the partner API yet.",
            param="Idempotency-Key",
            code="idempotency_not_supported",
        )
    rate_limits.count_partner_request(caller.key)
    auth.check_scope(caller.key, auth.required_scope(request.blueprint, request.method))
    query_parameters.reject_unknown()


def acting_for_tenant(caller: auth.PartnerCaller) -> tuple[auth.ActingPartner, Tenant]:
    """The partner's tenant named by ``X-Tenant-Id``, and the key as it acts for it."""
    tenant_id = (request.headers.get(TENANT_HEADER) or "").strip()
    if not tenant_id:
        raise InvalidRequest(
            "A partner key acts for one of its tenants: send X-Tenant-Id: ten_….",
            param=TENANT_HEADER,
            code="tenant_header_required",
        )
    tenant = owned_tenant(db.session, caller.partner.id, tenant_id, param=TENANT_HEADER)
    if tenant.status == "offboarded":
        raise AuthorizationError("This tenant is offboarded.", code="tenant_offboarded")
    if tenant.status != "active":
        raise AuthorizationError("This tenant is suspended.", code="tenant_suspended")
    return auth.ActingPartner(caller.key, tenant), tenant


def finish_partner_request(response: Response) -> Response:
    """Commit a partner API call that succeeded (roll back one that did not)."""
    if response.status_code >= 400:
        db.session.rollback()
    else:
        try:
            db.session.commit()
        except DBAPIError as exc:
            db.session.rollback()
            error = database_error(exc)
            if isinstance(error, ApiError):
                log_unexpected(exc)
            response = error_response(error)
    auth.touch_last_used(db.session, g.partner_key, now=g.now)
    return response
