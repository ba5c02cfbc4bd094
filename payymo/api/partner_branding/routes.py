"""/api/v1/partner/branding: read and replace the partner's branding."""

from __future__ import annotations

from flask import g
from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint
from payymo.api.partner_branding.schemas import BrandingIn, BrandingOut
from payymo.services.partners import branding as service

blp = Blueprint(
    "partner_branding",
    __name__,
    url_prefix="/partner/branding",
    description="The partner's branding (partner keys only)",
)


@blp.route("")
class PartnerBranding(MethodView):
    @blp.response(200, BrandingOut)
    def get(self):
        """The partner's branding (its name when none is set)."""
        return service.get_branding(session=db.session, partner_id=g.partner.id)

    @blp.arguments(BrandingIn)
    @blp.response(200, BrandingOut)
    def put(self, body):
        """Replace the partner's branding (fields left out are cleared)."""
        return service.set_branding(session=db.session, partner_id=g.partner.id, branding=body)
