"""Partner keys in the request lifecycle: calling the partner API, or acting for a tenant.

A partner key calls ``/api/v1/partner/…`` as itself. On every tenant endpoint it acts
for one of its tenants, named by ``X-Tenant-Id``; a tenant it does not own answers 404,
exactly like another tenant's resource id, and from there the request is a tenant's
(the tenant's scope, the database wall, audit rows naming the partner key). A tenant's
own key may not send ``X-Tenant-Id`` (400).
"""

from __future__ import annotations

from flask import g, request

from payymo import auth, db
from payymo.api import query_parameters, rate_limits
from payymo.errors import AuthorizationError, InvalidRequest
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
