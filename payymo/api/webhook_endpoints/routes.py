"""/api/v1/webhook_endpoints: subscribe URLs to events, rotate secrets, test, see deliveries."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint, page_args
from payymo.api.webhook_endpoints.schemas import (
    IssuedSecret,
    WebhookDeliveryList,
    WebhookDeliveryListArgs,
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
from payymo.services.webhooks import deliveries
from payymo.services.webhooks import endpoints as service

blp = Blueprint(
    "webhook_endpoints",
    __name__,
    url_prefix="/webhook_endpoints",
    description="Webhook endpoints: signed, retried delivery of events",
)


@blp.route("")
class WebhookEndpoints(MethodView):
    @blp.arguments(WebhookEndpointListArgs, location="query")
    @blp.response(200, WebhookEndpointList)
    def get(self, args):
        """List webhook endpoints, newest first."""
        return service.list_endpoints(session=db.session, page=page_args(args))

    @blp.arguments(WebhookEndpointCreate)
    @blp.response(201, WebhookEndpointWithSecret)
    def post(self, data):
        """Subscribe a URL; the answer carries its signing secret, shown only this once."""
        return IssuedSecret(*service.create_endpoint(session=db.session, **data))


@blp.route("/<string:endpoint_id>")
class WebhookEndpointById(MethodView):
    @blp.response(200, WebhookEndpointOut)
    def get(self, endpoint_id):
        """Retrieve a webhook endpoint."""
        return service.get_endpoint(session=db.session, endpoint_id=endpoint_id)

    @blp.arguments(WebhookEndpointUpdate)
    @blp.response(200, WebhookEndpointOut)
    def patch(self, data, endpoint_id):
        """Change the URL, event types, description, or enable / disable it."""
        return service.update_endpoint(session=db.session, endpoint_id=endpoint_id, changes=data)

    @blp.response(200, WebhookEndpointDeleted)
    def delete(self, endpoint_id):
        """Delete the endpoint and its delivery history (unsubscribe)."""
        service.delete_endpoint(session=db.session, endpoint_id=endpoint_id)
        return {"id": endpoint_id}


@blp.route("/<string:endpoint_id>/rotate_secret")
class WebhookEndpointRotate(MethodView):
    @blp.response(200, WebhookEndpointWithSecret)
    def post(self, endpoint_id):
        """A new signing secret; the old one keeps signing beside it for 24 hours."""
        return IssuedSecret(
            *service.rotate_secret(session=db.session, endpoint_id=endpoint_id, now=utcnow())
        )


@blp.route("/<string:endpoint_id>/test")
class WebhookEndpointTest(MethodView):
    @blp.response(202, WebhookDeliveryOut)
    def post(self, endpoint_id):
        """Send a ``webhook.test`` event to this endpoint now; follow it in its deliveries."""
        delivery = service.send_test(session=db.session, endpoint_id=endpoint_id, now=utcnow())
        return deliveries.view(session=db.session, delivery=delivery)


@blp.route("/<string:endpoint_id>/deliveries")
class WebhookEndpointDeliveries(MethodView):
    @blp.arguments(WebhookDeliveryListArgs, location="query")
    @blp.response(200, WebhookDeliveryList)
    def get(self, args, endpoint_id):
        """Deliveries to this endpoint, newest first, each with every attempt."""
        return deliveries.list_deliveries(
            session=db.session, endpoint_id=endpoint_id, filters=args, page=page_args(args)
        )
