"""/api/v1/institutions: the banks a tenant can connect."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint
from payymo.api.institutions.schemas import InstitutionArgs, InstitutionList
from payymo.services.banking import institutions as service

blp = Blueprint(
    "institutions", __name__, url_prefix="/institutions", description="Banks to connect"
)


@blp.route("")
class Institutions(MethodView):
    @blp.arguments(InstitutionArgs, location="query")
    @blp.response(200, InstitutionList)
    def get(self, args):
        """List the banks of a country (cached for a day)."""
        banks = service.list_institutions(session=db.session, country=args["country"])
        return {"data": banks, "has_more": False}
