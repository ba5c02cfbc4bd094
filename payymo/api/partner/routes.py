"""/api/v1/partner/tenants: the partner provisions, lists, reads and suspends its tenants."""

from __future__ import annotations

from flask import g, url_for
from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, page_args
from payymo.api.partner.schemas import (
    OffboardingOut,
    PartnerTenantList,
    PartnerTenantListArgs,
    PartnerTenantOut,
    PortalSessionIn,
    PortalSessionOut,
    ProvisionedTenantOut,
    TenantProvision,
    TenantStatusChange,
)
from payymo.services.partners import offboarding, portal_links
from payymo.services.partners import tenants as service

blp = Blueprint(
    "partner_tenants",
    __name__,
    url_prefix="/partner/tenants",
    description="A partner's tenants (partner keys only)",
)


@blp.route("")
class PartnerTenants(MethodView):
    @blp.arguments(PartnerTenantListArgs, location="query")
    @blp.response(200, PartnerTenantList)
    def get(self, args):
        """List the partner's tenants with their usage, newest first."""
        return service.list_tenants(
            session=db.session, partner_id=g.partner.id, filters=args, page=page_args(args)
        )

    @blp.arguments(TenantProvision)
    @blp.response(201, ProvisionedTenantOut)
    def post(self, body):
        """Provision a tenant; answers it and its first API key (shown once)."""
        tenant, secret = service.provision_tenant(
            session=db.session, partner_id=g.partner.id, **body
        )
        return {"tenant": service.PartnerTenant(tenant), "api_key": secret}


@blp.route("/<string:tenant_id>/portal_sessions")
class PortalSessions(MethodView):
    @blp.arguments(PortalSessionIn)
    @blp.response(201, PortalSessionOut)
    def post(self, body, tenant_id):
        """A one-time sign-in link to the portal for a person of this tenant."""
        link, token = portal_links.create_link(
            session=db.session, partner_id=g.partner.id, tenant_id=tenant_id, **body
        )
        url = url_for("portal.sign_in", token=token, _external=True)
        return {"url": url, "expires_at": link.expires_at}


@blp.route("/<string:tenant_id>")
class PartnerTenantById(MethodView):
    @blp.response(200, PartnerTenantOut)
    def get(self, tenant_id):
        """Retrieve one of the partner's tenants with its usage."""
        return service.get_tenant(session=db.session, partner_id=g.partner.id, tenant_id=tenant_id)

    @blp.response(200, OffboardingOut)
    def delete(self, tenant_id):
        """Offboard a tenant: keys revoked, bank consents withdrawn, data purged later."""
        return offboarding.offboard(
            session=db.session, partner_id=g.partner.id, tenant_id=tenant_id
        )

    @blp.arguments(TenantStatusChange)
    @blp.response(200, PartnerTenantOut)
    def patch(self, body, tenant_id):
        """Suspend or reactivate a tenant."""
        tenant = service.set_status(
            session=db.session, partner_id=g.partner.id, tenant_id=tenant_id, **body
        )
        return service.PartnerTenant(tenant)
