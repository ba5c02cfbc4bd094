"""/api/v1/integrations/stripe: link, show (key masked) and unlink the tenant's Stripe."""

from __future__ import annotations

from flask import url_for
from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint
from payymo.api.stripe_integration.schemas import StripeIntegrationOut, StripeLinkIn
from payymo.representations.stripe import integration
from payymo.services.stripe import links as service
from payymo.tenancy import current_tenant_id

blp = Blueprint(
    "stripe_integration",
    __name__,
    url_prefix="/integrations/stripe",
    description="Stripe: the tenant's linked account",
)


def _document(link) -> dict:
    hook = url_for("stripe_webhooks.receive", tenant_id=current_tenant_id(), _external=True)
    return integration(link, webhook_url=hook)


@blp.route("")
class StripeIntegration(MethodView):
    @blp.response(200, StripeIntegrationOut)
    def get(self):
        """Whether Stripe is linked, with the key masked."""
        return _document(service.get_link(db.session))

    @blp.arguments(StripeLinkIn)
    @blp.response(200, StripeIntegrationOut)
    def put(self, data):
        """Link Stripe: the key is checked with a live call, then stored encrypted."""
        return _document(service.link_account(session=db.session, **data))

    @blp.response(200, StripeIntegrationOut)
    def delete(self):
        """Unlink Stripe (payments and payouts already kept stay)."""
        service.unlink(session=db.session)
        return _document(None)
