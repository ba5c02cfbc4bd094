"""POST /api/v1/events/{id}/redeliver: send an event to webhooks again (webhooks:write)."""

from __future__ import annotations

from flask.views import MethodView
from marshmallow import fields

from payymo import db
from payymo.api.common import Blueprint, OutputSchema
from payymo.api.events.schemas import RedeliverArgs
from payymo.api.webhook_endpoints.schemas import WebhookDeliveryOut
from payymo.db import utcnow
from payymo.services.webhooks import deliveries, dispatch

# A blueprint of its own: resending is a webhooks action, guarded by webhooks:write.
blp = Blueprint(
    "event_redelivery", __name__, url_prefix="/events", description="Webhook redelivery"
)


class RedeliveryOut(OutputSchema):
    """The deliveries that will send the event again, due now."""

    object = fields.Constant("list")
    data = fields.List(fields.Nested(WebhookDeliveryOut))


@blp.route("/<string:event_id>/redeliver")
class EventRedeliver(MethodView):
    @blp.arguments(RedeliverArgs, required=False)
    @blp.response(202, RedeliveryOut)
    def post(self, data, event_id):
        """Send an event again now: to one endpoint, or to every enabled subscriber."""
        found = dispatch.redeliver(
            session=db.session,
            event_id=event_id,
            endpoint_id=(data or {}).get("endpoint_id"),
            now=utcnow(),
        )
        return {"data": [deliveries.view(session=db.session, delivery=d) for d in found]}
