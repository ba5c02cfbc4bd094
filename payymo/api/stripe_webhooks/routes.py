"""POST /webhooks/stripe/{tenant_id}: events from the tenant's Stripe, signed by Stripe."""

from __future__ import annotations

from flask import request
from flask.views import MethodView
from marshmallow import fields

from payymo import db
from payymo.api.common import Blueprint, OutputSchema
from payymo.services.stripe import inbound

blp = Blueprint(
    "stripe_webhooks",
    __name__,
    url_prefix="/webhooks/stripe",
    description="Inbound Stripe webhooks (no API key: Stripe signs them)",
)


class ReceivedOut(OutputSchema):
    """The event was stored (or had been): Stripe stops resending it."""

    received = fields.Boolean(dump_default=True)
    duplicate = fields.Boolean(metadata={"description": "True when it had come before"})


@blp.route("/<string:tenant_id>", endpoint="receive")
class StripeWebhook(MethodView):
    @blp.response(200, ReceivedOut)
    def post(self, tenant_id):
        """Receive an event: verified with the tenant's signing secret, stored once, queued."""
        new = inbound.receive(
            session=db.session,
            tenant_id=tenant_id,
            payload=request.get_data(cache=True),
            signature=request.headers.get("Stripe-Signature", ""),
        )
        db.session.commit()
        return {"duplicate": not new}
