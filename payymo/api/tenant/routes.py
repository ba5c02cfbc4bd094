"""/api/v1/tenant: the caller's tenant and its settings."""

from __future__ import annotations

from flask.views import MethodView

from payymo import db
from payymo.api.common import Blueprint
from payymo.api.tenant.schemas import TenantOut, TenantUpdate
from payymo.services import tenants as service

blp = Blueprint("tenant", __name__, url_prefix="/tenant", description="The caller's tenant")


@blp.route("")
class TenantView(MethodView):
    @blp.response(200, TenantOut)
    def get(self):
        """Retrieve the tenant and its effective settings."""
        return service.current_tenant(session=db.session)

    @blp.arguments(TenantUpdate)
    @blp.response(200, TenantOut)
    def patch(self, changes):
        """Update the name, default currency or settings (settings are merged)."""
        return service.update_tenant(session=db.session, changes=changes)
