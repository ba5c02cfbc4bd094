"""/api/v1/partner/webhook_endpoints: one URL for the events of every tenant the partner owns."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, page_args
from payymo.api.partner_webhook_endpoints.schemas import PartnerDeliveryListArgs, PartnerTestIn
from payymo.api.webhook_endpoints.schemas import (
    IssuedSecret,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookEndpointCreate,
    WebhookEndpointDeleted,
    WebhookEndpointList,
    WebhookEndpointListArgs,
    WebhookEndpointOut,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)
from payymo.db import utcnow
from payymo.services.partners import webhook_endpoints as service

blp = Blueprint(
    "partner_webhook_endpoints",
    __name__,
    url_prefix="/partner/webhook_endpoints",
    description="The partner's webhook endpoints: every tenant's events (partner keys only)",
)


@blp.route("")
class PartnerWebhookEndpoints(MethodView):
    @blp.arguments(WebhookEndpointListArgs, location="query")
    @blp.response(200, WebhookEndpointList)
    def get(self, args):
        """List the partner's webhook endpoints, newest first."""
        return service.list_endpoints(
            session=db.session, partner_id=g.partner.id, page=page_args(args)
        )

    @blp.arguments(WebhookEndpointCreate)
    @blp.response(201, WebhookEndpointWithSecret)
    def post(self, data):
        """Subscribe a URL to events of all your tenants (each payload names its tenant_id);
        the answer carries the signing secret, shown only this once."""
        return IssuedSecret(
            *service.create_endpoint(session=db.session, partner_id=g.partner.id, **data)
        )


@blp.route("/<string:endpoint_id>")
class PartnerWebhookEndpointById(MethodView):
    @blp.response(200, WebhookEndpointOut)
    def get(self, endpoint_id):
        """Retrieve one of the partner's webhook endpoints."""
        return service.get_endpoint(
            session=db.session, partner_id=g.partner.id, endpoint_id=endpoint_id
        )

    @blp.arguments(WebhookEndpointUpdate)
    @blp.response(200, WebhookEndpointOut)
    def patch(self, data, endpoint_id):
        """Change the URL, event types, description, or enable / disable it."""
        return service.update_endpoint(
            session=db.session, partner_id=g.partner.id, endpoint_id=endpoint_id, changes=data
        )

    @blp.response(200, WebhookEndpointDeleted)
    def delete(self, endpoint_id):
        """Delete the endpoint and its delivery history (unsubscribe)."""
        service.delete_endpoint(
            session=db.session, partner_id=g.partner.id, endpoint_id=endpoint_id
        )
        return {"id": endpoint_id}


@blp.route("/<string:endpoint_id>/rotate_secret")
class PartnerWebhookEndpointRotate(MethodView):
    @blp.response(200, WebhookEndpointWithSecret)
    def post(self, endpoint_id):
        """A new signing secret; the old one keeps signing beside it for 24 hours."""
        return IssuedSecret(
            *service.rotate_secret(
                session=db.session, partner_id=g.partner.id, endpoint_id=endpoint_id, now=utcnow()
            )
        )


@blp.route("/<string:endpoint_id>/test")
class PartnerWebhookEndpointTest(MethodView):
    @blp.arguments(PartnerTestIn)
    @blp.response(202, WebhookDeliveryOut)
    def post(self, body, endpoint_id):
        """Send a ``webhook.test`` event of one of your tenants to this endpoint now."""
        return service.send_test(
            session=db.session,
            partner_id=g.partner.id,
            endpoint_id=endpoint_id,
            tenant_id=body.get("tenant_id"),
            now=utcnow(),
        )


@blp.route("/<string:endpoint_id>/deliveries")
class PartnerWebhookEndpointDeliveries(MethodView):
    @blp.arguments(PartnerDeliveryListArgs, location="query")
    @blp.response(200, WebhookDeliveryList)
    def get(self, args, endpoint_id):
        """Deliveries to this endpoint across your tenants, newest first, with every attempt."""
        return service.list_deliveries(
            session=db.session,
            partner_id=g.partner.id,
            endpoint_id=endpoint_id,
            filters=args,
            page=page_args(args),
        )
